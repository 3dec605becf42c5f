// The results of a plan, compact enough for a pod's termination message (the kubelet keeps 4096 bytes).
//
//   netaudit-probe v1 <n>
//   <id>:<codes> <id>:<codes> ...
//   !<k>=<cause> ...                      (only when some attempt was an error)
//
// One code per attempt, concatenated: `c<ms>` connected, `r` refused, `t` timeout, `e<k>` error with
// cause number k of the cause table. Example, 3 probes of 2 attempts:
//
//   netaudit-probe v1 3
//   0:c3c2 1:rr 2:te0
//   !0=EHOSTUNREACH
//
// Causes go to a table so that a repeated errno costs 2 bytes per attempt; the table is bounded
// (MAX_CAUSES entries of at most MAX_CAUSE_LENGTH bytes, overflow folded into `other`), which is what
// makes the worst case of a plan computable before it runs (see worstCaseResultBytes).
import { assertNever } from '../core/assert-never.ts';
import { err, ok, type Result } from '../core/result.ts';
import { ProbeFormatError } from './errors.ts';
import type { ProbeOutcome, ProbeResult } from './outcome.ts';
import type { ProbePlan } from './plan.ts';

export const RESULTS_MAGIC = 'netaudit-probe';
/** Written instead of results when the agent could not run the plan: `netaudit-probe error: <why>`. */
export const RESULTS_ERROR_PREFIX = 'netaudit-probe error:';
/** The kubelet's cap on one container's termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;
export const MAX_CAUSES = 8;
export const MAX_CAUSE_LENGTH = 24;
const OTHER_CAUSE = 'other';

const ID_RE = /^[A-Za-z0-9_-]{1,16}$/;
const CODES_RE = /^(?:c[0-9]{1,9}|r|t|e[0-9])+$/;
const CAUSE_TOKEN_RE = /^!([0-9])=([A-Za-z0-9_.-]{1,24})$/;

/** Keeps a cause inside the format's alphabet and length, so it can never break or bloat the message. */
export function sanitizeCause(cause: string): string {
  const clean = cause.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_CAUSE_LENGTH);
  return clean === '' ? 'unknown' : clean;
}

export function encodeResults(results: readonly ProbeResult[]): string {
  const causes: string[] = [];
  const causeIndex = (cause: string): number => {
    const clean = sanitizeCause(cause);
    const known = causes.indexOf(clean);
    if (known >= 0) return known;
    // The last slot is kept for `other` once the table is full.
    if (causes.length < MAX_CAUSES - 1) return causes.push(clean) - 1;
    if (causes.length === MAX_CAUSES - 1) causes.push(OTHER_CAUSE);
    return MAX_CAUSES - 1;
  };
  const code = (o: ProbeOutcome): string => {
    switch (o.kind) {
      case 'connected':
        return `c${Math.max(0, Math.round(o.ms))}`;
      case 'refused':
        return 'r';
      case 'timeout':
        return 't';
      case 'error':
        return `e${causeIndex(o.cause)}`;
      default:
        return assertNever(o);
    }
  };
  const tokens = results.map((r) => `${r.id}:${r.attempts.map(code).join('')}`);
  const lines = [`${RESULTS_MAGIC} v1 ${results.length}`, tokens.join(' ')];
  if (causes.length > 0) lines.push(causes.map((c, i) => `!${i}=${c}`).join(' '));
  return lines.join('\n');
}

/** Reads a termination message. Never throws: a truncated or foreign message is an error value. */
export function decodeResults(text: string): Result<ProbeResult[], ProbeFormatError> {
  const newline = text.indexOf('\n');
  const header = (newline < 0 ? text : text.slice(0, newline)).trim();
  const headerMatch = /^netaudit-probe v1 ([0-9]{1,6})$/.exec(header);
  if (!headerMatch) {
    if (text.startsWith(RESULTS_ERROR_PREFIX)) {
      return bad(`the probe agent could not run its plan: ${text.slice(RESULTS_ERROR_PREFIX.length).trim()}`);
    }
    return /^netaudit-probe v[0-9]+ /.test(header)
      ? bad('unsupported results version (this reader knows v1)', 0, header)
      : bad(`not netaudit probe results: expected '${RESULTS_MAGIC} v1 <n>'`, 0, header);
  }
  const expected = Number(headerMatch[1]);
  const tokens =
    newline < 0
      ? []
      : text
          .slice(newline + 1)
          .split(/\s+/)
          .filter((t) => t !== '');
  const causes = new Map<number, string>();
  const raw: { id: string; codes: string; position: number }[] = [];
  for (const [i, token] of tokens.entries()) {
    const position = i + 1;
    if (token.startsWith('!')) {
      const m = CAUSE_TOKEN_RE.exec(token);
      if (!m) return bad('expected !<k>=<cause>', position, token);
      const k = Number(m[1]);
      if (causes.has(k)) return bad(`cause ${k} defined twice`, position, token);
      causes.set(k, m[2] ?? '');
      continue;
    }
    const colon = token.indexOf(':');
    const id = token.slice(0, colon);
    const codes = token.slice(colon + 1);
    if (colon < 0 || !ID_RE.test(id)) return bad('expected <id>:<codes>', position, token);
    if (!CODES_RE.test(codes))
      return bad('codes must be c<ms>, r, t or e<k>, one per attempt', position, token);
    raw.push({ id, codes, position });
  }
  if (raw.length !== expected) {
    return bad(`header announces ${expected} results but ${raw.length} were found (truncated message?)`);
  }
  const seen = new Set<string>();
  const results: ProbeResult[] = [];
  for (const { id, codes, position } of raw) {
    if (seen.has(id)) return bad(`duplicate probe id '${id}'`, position, `${id}:${codes}`);
    seen.add(id);
    const attempts: ProbeOutcome[] = [];
    for (const m of codes.matchAll(/c([0-9]+)|r|t|e([0-9])/g)) {
      if (m[1] !== undefined) attempts.push({ kind: 'connected', ms: Number(m[1]) });
      else if (m[2] !== undefined) {
        const cause = causes.get(Number(m[2]));
        if (cause === undefined) return bad(`cause ${m[2]} is not defined`, position, `${id}:${codes}`);
        attempts.push({ kind: 'error', cause });
      } else attempts.push(m[0] === 'r' ? { kind: 'refused' } : { kind: 'timeout' });
    }
    results.push({ id, attempts });
  }
  return ok(results);
}

/** Checks decoded results against the plan they answer: every probe once, with every attempt. */
export function checkResults(
  plan: ProbePlan,
  results: readonly ProbeResult[],
): Result<ProbeResult[], ProbeFormatError> {
  const byId = new Map(results.map((r) => [r.id, r]));
  const ordered: ProbeResult[] = [];
  for (const probe of plan.probes) {
    const r = byId.get(probe.id);
    if (!r) return bad(`no result for probe '${probe.id}'`);
    if (r.attempts.length !== plan.attempts) {
      return bad(`probe '${probe.id}' has ${r.attempts.length} attempts, the plan asked ${plan.attempts}`);
    }
    ordered.push(r);
    byId.delete(probe.id);
  }
  const [extra] = byId.keys();
  if (extra !== undefined) return bad(`result for probe '${extra}' that is not in the plan`);
  return ok(ordered);
}

/**
 * The largest message the plan's results can encode to: every attempt at its longest code
 * (`c<timeoutMs>`, the client clamps ms to the timeout), and a full cause table.
 */
export function worstCaseResultBytes(plan: Pick<ProbePlan, 'timeoutMs' | 'attempts' | 'probes'>): number {
  return (
    resultHeaderBytes(plan.probes.length) +
    causeTableBytes() +
    plan.probes.reduce((sum, p) => sum + worstCaseProbeBytes(p.id, plan), 0)
  );
}

export function resultHeaderBytes(probeCount: number): number {
  return `${RESULTS_MAGIC} v1 ${probeCount}\n`.length;
}

/** The cause table line at its largest: a newline, then MAX_CAUSES tokens `!k=<cause>` and spaces. */
export function causeTableBytes(): number {
  return 1 + MAX_CAUSES * (`!0=`.length + MAX_CAUSE_LENGTH + 1);
}

/** One `<id>:<codes>` token and its separator, at its largest. */
export function worstCaseProbeBytes(id: string, plan: Pick<ProbePlan, 'timeoutMs' | 'attempts'>): number {
  const longestCode = Math.max(1 + String(plan.timeoutMs).length, 1 + String(MAX_CAUSES - 1).length);
  return id.length + 1 + plan.attempts * longestCode + 1;
}

function bad(message: string, position?: number, token?: string): Result<never, ProbeFormatError> {
  return err(
    new ProbeFormatError(
      {
        format: 'results',
        ...(position === undefined ? {} : { position }),
        ...(token === undefined ? {} : { token }),
      },
      message,
    ),
  );
}
