// The probe plan: what a client pod probes, and its compact command-line form. Pure, no I/O.
//
// Plan string (one argument, `--plan`), comma-separated, shell-safe without quoting:
//
//   v1,t=<timeoutMs>,a=<attempts>,<id>=<host>:<port>/<PROTO>,...
//   v1,t=1000,a=2,0=10.244.1.7:80/TCP,1=fd00:10:244::7:81/UDP
//
// The header tokens are positional and always present. The host is an IPv4 or IPv6 literal without
// brackets: the port is after the LAST colon, so IPv6 needs no escaping. Protocol case is ignored.
import { isIP } from 'node:net';
import { err, ok, type Result } from '../core/result.ts';
import { isProtocol, type Protocol } from '../core/traffic.ts';
import { ProbeFormatError } from './errors.ts';

export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_ATTEMPTS = 1;
/** Bounds that keep a plan's worst-case results small and a client pod's lifetime short. */
export const MAX_TIMEOUT_MS = 60_000;
export const MAX_ATTEMPTS = 10;
export const MAX_ID_LENGTH = 16;
/**
 * Upper bound of an encoded plan. Linux caps one argv string at 128 KiB (MAX_ARG_STRLEN) and the pod
 * is stored in etcd; a plan whose results fit in 4 KiB is far below this anyway.
 */
export const PLAN_ARG_LIMIT = 64 * 1024;

export interface ProbeSpec {
  /** Short, unique in the plan; the results refer to it. `[A-Za-z0-9_-]{1,16}`. */
  readonly id: string;
  /** IPv4 or IPv6 literal (no zone, no brackets). */
  readonly host: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface ProbePlan {
  readonly version: 1;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly probes: readonly ProbeSpec[];
}

const ID_RE = /^[A-Za-z0-9_-]{1,16}$/;
const UINT_RE = /^[0-9]{1,9}$/;

/** Builds a plan with defaults (timeout 1 s, 1 attempt) and validates it. */
export function makePlan(input: {
  readonly probes: readonly ProbeSpec[];
  readonly timeoutMs?: number;
  readonly attempts?: number;
}): Result<ProbePlan, ProbeFormatError> {
  return validatePlan({
    version: 1,
    timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    attempts: input.attempts ?? DEFAULT_ATTEMPTS,
    probes: input.probes,
  });
}

/** Compact probe ids for generated plans: base 36 of the index (`0`..`z`, `10`, ...). */
export function probeId(index: number): string {
  return index.toString(36);
}

export function validatePlan(plan: ProbePlan): Result<ProbePlan, ProbeFormatError> {
  if (plan.version !== 1) return bad(`unsupported version ${String(plan.version)}`);
  const header = checkTimeout(plan.timeoutMs) ?? checkAttempts(plan.attempts);
  if (header) return bad(header);
  const seen = new Set<string>();
  for (const [i, probe] of plan.probes.entries()) {
    const problem =
      checkProbe(probe) ?? (seen.has(probe.id) ? `duplicate probe id '${probe.id}'` : undefined);
    if (problem) return bad(problem, i + 3, formatProbe(probe));
    seen.add(probe.id);
  }
  return ok(plan);
}

/** The `--plan` argument for a plan. Throws ProbeFormatError only for a plan validatePlan rejects. */
export function encodePlan(plan: ProbePlan): string {
  const valid = validatePlan(plan);
  if (!valid.ok) throw valid.error;
  return [planHeader(plan), ...plan.probes.map(formatProbe)].join(',');
}

export function planHeader(plan: Pick<ProbePlan, 'timeoutMs' | 'attempts'>): string {
  return `v1,t=${plan.timeoutMs},a=${plan.attempts}`;
}

export function formatProbe(p: ProbeSpec): string {
  return `${p.id}=${p.host}:${p.port}/${p.protocol}`;
}

/** Reads a `--plan` argument. Never throws: every problem is an error naming the token. */
export function decodePlan(text: string): Result<ProbePlan, ProbeFormatError> {
  const s = text.trim();
  if (s.length > PLAN_ARG_LIMIT) return bad(`plan is ${s.length} bytes, over the ${PLAN_ARG_LIMIT} limit`);
  const tokens = s.split(',');
  const [version, t, a] = tokens;
  if (version !== 'v1') {
    return /^v[0-9]+$/.test(version ?? '')
      ? bad(`unsupported plan version (this agent reads v1)`, 0, version)
      : bad(`not a netaudit plan: expected 'v1,t=<ms>,a=<attempts>,...'`, 0, version);
  }
  const timeoutMs = headerValue(t, 't');
  if (timeoutMs === undefined) return bad('expected t=<timeout in ms>', 1, t);
  const attempts = headerValue(a, 'a');
  if (attempts === undefined) return bad('expected a=<attempts>', 2, a);
  const probes: ProbeSpec[] = [];
  for (let i = 3; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const probe = parseProbe(token);
    if (!probe.ok) return bad(probe.error, i, token);
    probes.push(probe.value);
  }
  return validatePlan({ version: 1, timeoutMs, attempts, probes });
}

function headerValue(token: string | undefined, key: string): number | undefined {
  const prefix = `${key}=`;
  if (!token?.startsWith(prefix)) return undefined;
  const digits = token.slice(prefix.length);
  return UINT_RE.test(digits) ? Number(digits) : undefined;
}

function parseProbe(token: string): Result<ProbeSpec, string> {
  const eq = token.indexOf('=');
  const slash = token.lastIndexOf('/');
  const colon = token.lastIndexOf(':');
  if (eq < 0 || slash < eq || colon < eq || colon > slash) {
    return err(token === '' ? 'empty probe (stray comma?)' : 'expected <id>=<host>:<port>/<protocol>');
  }
  const protocol = token.slice(slash + 1).toUpperCase();
  if (!isProtocol(protocol)) return err(`unknown protocol '${token.slice(slash + 1)}' (TCP, UDP or SCTP)`);
  const portText = token.slice(colon + 1, slash);
  if (!UINT_RE.test(portText)) return err(`port '${portText}' is not a number`);
  return ok({ id: token.slice(0, eq), host: token.slice(eq + 1, colon), port: Number(portText), protocol });
}

function checkProbe(p: ProbeSpec): string | undefined {
  if (!ID_RE.test(p.id)) return `probe id '${p.id}' must be 1-${MAX_ID_LENGTH} of [A-Za-z0-9_-]`;
  // isIP accepts zone ids (fe80::1%eth0); pod and external targets never need them.
  if (isIP(p.host) === 0 || p.host.includes('%')) return `host '${p.host}' is not an IPv4 or IPv6 literal`;
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return `port ${p.port} is not in 1-65535`;
  if (!isProtocol(p.protocol)) return `unknown protocol '${String(p.protocol)}' (TCP, UDP or SCTP)`;
  return undefined;
}

function checkTimeout(ms: number): string | undefined {
  return Number.isInteger(ms) && ms >= 1 && ms <= MAX_TIMEOUT_MS
    ? undefined
    : `timeout ${ms} ms is not in 1-${MAX_TIMEOUT_MS} ms`;
}

function checkAttempts(n: number): string | undefined {
  return Number.isInteger(n) && n >= 1 && n <= MAX_ATTEMPTS
    ? undefined
    : `attempts ${n} is not in 1-${MAX_ATTEMPTS}`;
}

function bad(message: string, position?: number, token?: string): Result<never, ProbeFormatError> {
  return err(
    new ProbeFormatError(
      {
        format: 'plan',
        ...(position === undefined ? {} : { position }),
        ...(token === undefined ? {} : { token }),
      },
      message,
    ),
  );
}
