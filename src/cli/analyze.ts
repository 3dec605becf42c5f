// `netaudit analyze`: the expected reachability of manifests, offline (CI before deploy).
//
// Output is sized for whoever reads it. JSON lists per-pod verdicts (the contract) while they fit
// under --max-verdicts, and says how to narrow the question when they do not; `--classes -o json` is
// the factored form, which stays small at any size; tables and markdown draw matrices while a person
// can read them and a summary past that. `--from`, `--to` and `--namespace` scope every output.

import pkg from '../../package.json' with { type: 'json' };
import type { PortSpec } from '../core/traffic.ts';
import { formatIssue, type ManifestIssue, UsageError } from '../errors.ts';
import { classVerdicts, countCells, type PodVerdict, podVerdicts, type Scope } from '../expect/cells.ts';
import { diffAnalyses } from '../expect/diff.ts';
import { type Destination, ExpectationEngine, type ExpectClass } from '../expect/engine.ts';
import { writeFactored } from '../expect/factored.ts';
import { LINT_RULES, type LintFinding, type LintSeverity, lint } from '../expect/lint.ts';
import type { ExternalTarget } from '../expect/ports.ts';
import { hasClusterReasons, verdictReasons } from '../expect/reasons.ts';
import { summarize } from '../expect/summary.ts';
import { ItemMemo } from '../model/item-memo.ts';
import type { LoadResult } from '../model/manifests.ts';
import { parseIpLiteral } from '../policy/cidr.ts';
import { explain } from '../policy/explain.ts';
import { isProfileName, PROFILE_NAMES, PROFILES } from '../policy/profiles.ts';
import type { ObjectIssue } from '../policy/snapshot.ts';
import { type Endpoint, formatRuleRef, type PodInfo } from '../policy/types.ts';
import { parsePortSpec } from '../probe/ports.ts';
import { classVerdictJson, issueJson, podVerdictJson } from '../report/analysis-json.ts';
import { renderSummaryMarkdown, renderSummaryText } from '../report/analysis-summary.ts';
import { type ChangeJson, changeJson, renderDiffMarkdown, renderDiffText } from '../report/diff-report.ts';
import { markdownIssues, markdownMatrices } from '../report/markdown.ts';
import { type Cell, renderMatrices } from '../report/matrix-table.ts';
import {
  OPENED_FLOW_RULE,
  openedFlowResult,
  type SarifLocated,
  type SarifRule,
  sarifLog,
} from '../report/sarif.ts';
import { bufferedWriter, type Progress, startProgress } from './progress.ts';
import { readManifests } from './read-manifests.ts';

export interface AnalyzeArgs {
  readonly file: readonly string[];
  readonly port: readonly string[];
  readonly external: readonly string[];
  readonly profile: string;
  readonly output: 'table' | 'json' | 'markdown' | 'sarif';
  readonly classes: boolean;
  readonly explain: readonly string[] | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly namespace?: readonly string[] | undefined;
  readonly maxVerdicts?: number | undefined;
  /** Compare with these manifests: what the change from them to `file` opens and closes. */
  readonly base?: readonly string[] | undefined;
  readonly failOn?: 'opened' | 'closed' | 'any' | undefined;
  /** Policy lint instead of the matrix (implied by -o sarif). */
  readonly lint?: boolean | undefined;
  /** Exit 1 when lint finds something at this severity or above. */
  readonly failOnLint?: LintSeverity | undefined;
}

export interface AnalyzeIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly color: boolean;
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /** A terminal that shows progress (not CI, not a pipe). */
  readonly interactive?: boolean;
}

const VERSION: string = pkg.version;

/** Verdicts a JSON listing may hold before the run asks for a narrower question (about 300 MB). */
export const DEFAULT_MAX_VERDICTS = 1_000_000;
/**
 * `--classes -o json` lists class-to-class verdicts beside the factored form only for small inputs:
 * they grow with classes squared (at 1k pods, 238 MB), which is what the factored form avoids.
 */
export const CLASS_VERDICTS_LISTED = 10_000;
/** Past these, a table or markdown matrix is a summary instead. */
const MATRIX_MAX_PODS = 60;
const MATRIX_MAX_CELLS = 20_000;

export function parsePorts(values: readonly string[]): PortSpec[] {
  return values.map((v) => {
    const p = parsePortSpec(v);
    if (!p.ok) throw new UsageError(`--port: ${p.error}`);
    return p.value;
  });
}

/** `IP` or `IP=PORT/PROTO,PORT/PROTO` (the ports the target listens on). */
export function parseExternals(values: readonly string[]): ExternalTarget[] {
  return values.map((v) => {
    const [address = '', portList] = v.split('=', 2);
    const text = address.startsWith('ip:') ? address.slice(3) : address;
    const ip = parseIpLiteral(text);
    if (!ip.ok) throw new UsageError(`--external ${v}: ${ip.error}`);
    if (portList === undefined) return { text, ip: ip.value };
    const ports = portList.split(',').map((p) => {
      const spec = parsePortSpec(p);
      if (!spec.ok) throw new UsageError(`--external ${v}: ${spec.error}`);
      return spec.value;
    });
    return { text, ip: ip.value, ports };
  });
}

/** Maps engine issues (object + field path) onto the manifest lines they came from. */
function locateIssues(load: LoadResult, issues: readonly ObjectIssue[]): ManifestIssue[] {
  return issues.map((i) => {
    const ref = {
      kind: i.kind,
      namespace:
        i.kind === 'Namespace' || i.kind === 'ClusterNetworkPolicy' ? undefined : (i.namespace ?? 'default'),
      name: i.name,
    };
    const at = load.locate(ref, i.field);
    const object = `${i.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${i.name}`;
    return {
      severity: i.severity,
      message: i.message,
      object,
      field: i.field,
      ...(at ? { file: at.file, line: at.line } : {}),
    };
  });
}

export interface Analysis {
  readonly engine: ExpectationEngine;
  /** The manifests as read, for locating findings. */
  readonly loaded: LoadResult;
  readonly issues: readonly ManifestIssue[];
  readonly excluded: readonly { key: string; reason: string }[];
}

export function analyzeLoaded(
  load: LoadResult,
  options: { profile: keyof typeof PROFILES; ports?: PortSpec[]; externals: ExternalTarget[] },
): Analysis {
  const engine = ExpectationEngine.from(
    {
      namespaces: load.namespaces.map((l) => l.object),
      pods: load.pods.map((l) => l.object),
      policies: load.policies.map((l) => l.object),
      clusterPolicies: load.clusterPolicies.map((l) => l.object),
    },
    PROFILES[options.profile],
    { ports: options.ports, externals: options.externals },
  );
  return {
    engine,
    loaded: load,
    issues: [...load.issues, ...locateIssues(load, engine.loadIssues)],
    excluded: engine.excluded,
  };
}

function findPod(engine: ExpectationEngine, text: string, flag: string): { cls: ExpectClass; pod: PodInfo } {
  const slash = text.indexOf('/');
  const cls = slash > 0 ? engine.classOf(text.slice(0, slash), text.slice(slash + 1)) : undefined;
  const pod = cls?.members.find((m) => m.key === text);
  if (cls && pod) return { cls, pod };
  const name = text.split('/').pop() ?? text;
  const near: string[] = [];
  for (const c of engine.classes()) {
    for (const m of c.members) if (m.name === name && near.length < 5) near.push(m.key);
    if (near.length >= 5) break;
  }
  throw new UsageError(
    `${flag} "${text}" is not a pod (ns/name) of the input${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
  );
}

function findEndpoint(engine: ExpectationEngine, text: string, role: string): Endpoint {
  const ipText = text.startsWith('ip:') ? text.slice(3) : text;
  if (!text.includes('/') || text.startsWith('ip:')) {
    const ip = parseIpLiteral(ipText);
    if (ip.ok) return { kind: 'external', ip: ip.value, text: ipText };
  }
  return { kind: 'pod', pod: findPod(engine, text, `--explain: ${role}`).pod };
}

/** One pod's class, narrowed to that pod: a row or a column of the matrix. */
function onlyPod(cls: ExpectClass, pod: PodInfo): ExpectClass {
  return { ...cls, members: [pod] };
}

function classDestination(cls: ExpectClass): Destination {
  return { kind: 'class', id: cls.id, cls, endpoint: cls.endpoint };
}

/** The part of the matrix the flags ask about. */
function scopeOf(engine: ExpectationEngine, args: AnalyzeArgs): Scope & { readonly narrowed: boolean } {
  const namespaces = args.namespace && args.namespace.length > 0 ? new Set(args.namespace) : undefined;
  if (namespaces) {
    const known = new Set(engine.namespaceList().map((n) => n.name));
    const missing = [...namespaces].filter((n) => !known.has(n));
    if (missing.length > 0)
      throw new UsageError(`--namespace: no namespace ${missing.join(', ')} in the input`);
  }
  const inScope = (cls: ExpectClass) => !namespaces || namespaces.has(cls.namespace);
  const classes = engine.classes().filter(inScope);
  let sources: readonly ExpectClass[] = classes;
  let destinations: Destination[] = [
    ...classes.map(classDestination),
    ...engine.destinations().filter((d) => d.kind === 'external'),
  ];
  if (args.from) {
    const { cls, pod } = findPod(engine, args.from, '--from:');
    sources = [onlyPod(cls, pod)];
    if (!args.to && !namespaces) destinations = engine.destinations();
  }
  if (args.to) {
    const { cls, pod } = findPod(engine, args.to, '--to:');
    destinations = [classDestination(onlyPod(cls, pod))];
    if (!args.from && !namespaces) sources = engine.classes();
  }
  return { sources, destinations, narrowed: namespaces !== undefined || !!args.from || !!args.to };
}

function tooBig(what: string, count: number, max: number): UsageError {
  return new UsageError(
    `the answer would list ${count} ${what}, over --max-verdicts ${max}: narrow it with --namespace NS, --from NS/POD or --to NS/POD, use --classes -o json for the factored form (any size), or raise --max-verdicts`,
  );
}

export async function runAnalyze(args: AnalyzeArgs, io: AnalyzeIO): Promise<number> {
  if (!isProfileName(args.profile)) {
    throw new UsageError(`--profile "${args.profile}" is not one of ${PROFILE_NAMES.join(', ')}`);
  }
  const maxVerdicts = args.maxVerdicts ?? DEFAULT_MAX_VERDICTS;
  const ports = args.port.length > 0 ? parsePorts(args.port) : undefined;
  const externals = parseExternals(args.external);
  const progress = startProgress(io.interactive === true, io.stderr);
  try {
    if (args.base && args.base.length > 0)
      return await runDiff(args, io, progress, ports, externals, maxVerdicts);
    if (args.failOn)
      throw new UsageError('--fail-on needs --base: it gates on what a change opens or closes');
    progress.phase('reading manifests');
    const read = await readManifests([...args.file], io.stdin ? { stdin: io.stdin } : {});
    const load = read.load;
    progress.phase('computing expectations');
    const analysis = analyzeLoaded(load, { profile: args.profile, ...(ports ? { ports } : {}), externals });
    const { engine } = analysis;
    const issues = [...read.issues, ...analysis.issues];
    const failed = issues.some((i) => i.severity === 'error');
    const exit = failed ? 2 : 0;

    if (args.explain) return explainFlow(engine, args, issues, io, progress, exit);
    if (args.lint || args.output === 'sarif') return runLint(args, io, progress, { ...analysis, issues });
    if (args.failOnLint) throw new UsageError('--fail-on-lint needs --lint (or -o sarif)');

    const scope = scopeOf(engine, args);
    const summary = {
      profile: args.profile,
      namespaces: engine.namespaceList().length,
      pods: engine.podCount(),
      policies: engine.policyCount(),
      ...clusterPolicyCount(engine),
      classes: engine.classes().length,
      excluded: analysis.excluded.length,
      errors: issues.filter((i) => i.severity === 'error').length,
      warnings: issues.filter((i) => i.severity === 'warning').length,
    };
    // Counted when an answer needs it: a table of more pods than a matrix shows never does, and
    // counting decides every class's ports (a second pass over 50k classes after the summary's).
    let counted: ReturnType<typeof countCells> | undefined;
    const cells = (): ReturnType<typeof countCells> => {
      counted ??= countCells(engine, scope);
      return counted;
    };

    if (args.output === 'json') {
      progress.phase('writing');
      const out = bufferedWriter(io.stdout);
      if (args.classes) {
        const listVerdicts = cells().classCells <= Math.min(maxVerdicts, CLASS_VERDICTS_LISTED);
        progress.stop();
        out.write(
          `{\n"summary": ${JSON.stringify({ ...summary, classVerdicts: cells().classCells, classVerdictsListed: listVerdicts })},\n`,
        );
        writeFactored(engine, out.write);
        if (listVerdicts) {
          out.write(',\n"verdicts": [');
          let first = true;
          for (const v of classVerdicts(engine, scope)) {
            out.write(`${first ? '\n' : ',\n'}${JSON.stringify(classVerdictJson(v))}`);
            first = false;
          }
          out.write('\n]');
        }
        out.write(
          `,\n"excluded": ${JSON.stringify(analysis.excluded)},\n"issues": ${JSON.stringify(issues.map(issueJson))}\n}\n`,
        );
        out.flush();
        return exit;
      }
      if (cells().podCells > maxVerdicts) throw tooBig('per-pod verdicts', cells().podCells, maxVerdicts);
      progress.stop();
      out.write(`{\n"summary": ${JSON.stringify(summary)},\n"verdicts": [`);
      let first = true;
      for (const v of podVerdicts(engine, scope)) {
        out.write(`${first ? '\n' : ',\n'}${JSON.stringify(podVerdictJson(v))}`);
        first = false;
      }
      out.write(
        `\n],\n"excluded": ${JSON.stringify(analysis.excluded)},\n"issues": ${JSON.stringify(issues.map(issueJson))}\n}\n`,
      );
      out.flush();
      return exit;
    }

    progress.stop();
    for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
    const cluster = summary.clusterPolicies ? `, ${summary.clusterPolicies} ClusterNetworkPolicies` : '';
    const head = `${summary.pods} pods in ${summary.namespaces} namespaces, ${summary.policies} policies${cluster}, ${summary.classes} classes (profile ${summary.profile})`;
    const excludedText = analysis.excluded.map((e) => `  not analysed: ${e.key}: ${e.reason}`).join('\n');
    const scopePods = (list: readonly ExpectClass[]) => list.reduce((n, c) => n + c.members.length, 0);
    const drawable = args.classes
      ? (scope.sources?.length ?? 0) <= MATRIX_MAX_PODS && cells().classCells <= MATRIX_MAX_CELLS
      : scopePods(scope.sources ?? []) <= MATRIX_MAX_PODS && cells().podCells <= MATRIX_MAX_CELLS;
    const listing = scope.narrowed && (args.from !== undefined || args.to !== undefined);
    // One pod's row or column reads best as a list of flows with their rules, at any size.
    const body = listing
      ? flowList(engine, scope, args.output)
      : drawable
        ? matrixBody(engine, scope, args, io)
        : summaryBody(engine, scope, args.output, summary.pods);
    if (args.output === 'markdown') {
      io.stdout(
        [`### netaudit analyze\n`, `${head}\n`, markdownIssues(issues), body, excludedText]
          .filter(Boolean)
          .join('\n'),
      );
      io.stdout('\n');
    } else {
      io.stdout(`${head}\n\n${body}\n`);
      if (excludedText) io.stdout(`\n${excludedText}\n`);
      if (failed) io.stdout(`\n${summary.errors} invalid object(s) were skipped; see the errors above.\n`);
    }
    return exit;
  } finally {
    progress.stop();
  }
}

async function readSide(
  paths: readonly string[],
  io: AnalyzeIO,
  memo: ItemMemo,
): Promise<{ load: LoadResult; issues: ManifestIssue[] }> {
  const read = await readManifests([...paths], io.stdin ? { stdin: io.stdin, memo } : { memo });
  const load = read.load;
  return { load, issues: [...read.issues, ...load.issues] };
}

const inputOf = (load: LoadResult) => ({
  namespaces: load.namespaces.map((l) => l.object),
  pods: load.pods.map((l) => l.object),
  policies: load.policies.map((l) => l.object),
  clusterPolicies: load.clusterPolicies.map((l) => l.object),
});

async function runDiff(
  args: AnalyzeArgs,
  io: AnalyzeIO,
  progress: Progress,
  ports: PortSpec[] | undefined,
  externals: ExternalTarget[],
  maxVerdicts: number,
): Promise<number> {
  if (args.explain || args.from || args.to || (args.namespace && args.namespace.length > 0) || args.classes)
    throw new UsageError(
      '--base compares whole inputs: it does not combine with --explain, --from, --to, --namespace or --classes',
    );
  if (!isProfileName(args.profile))
    throw new UsageError(`--profile "${args.profile}" is not one of ${PROFILE_NAMES.join(', ')}`);
  progress.phase('reading manifests');
  // Objects the base holds unchanged (most of them) are read once, for both sides.
  const memo = new ItemMemo();
  const head = await readSide(args.file, io, memo);
  const base = await readSide(args.base ?? [], io, memo);
  progress.phase('comparing');
  const diff = diffAnalyses(inputOf(base.load), inputOf(head.load), PROFILES[args.profile], {
    ...(ports ? { ports } : {}),
    externals,
  });
  const issues = [
    ...head.issues,
    ...locateIssues(head.load, diff.head.loadIssues),
    ...base.issues.map((i) => ({ ...i, message: `(base) ${i.message}` })),
    ...locateIssues(base.load, diff.base.loadIssues).map((i) => ({ ...i, message: `(base) ${i.message}` })),
  ];
  const failed = issues.some((i) => i.severity === 'error');
  const listed: ChangeJson[] = [];
  const openedAt: SarifLocated[] = [];
  let opened = 0;
  let closed = 0;
  for (const c of diff.changes()) {
    if (c.after.allowed) opened++;
    else closed++;
    if (listed.length >= maxVerdicts) continue;
    const json = changeJson(c);
    listed.push(json);
    if (args.output === 'sarif' && c.after.allowed) {
      const rule = c.after.ingress.allowedBy[0] ?? c.after.egress.allowedBy[0];
      const at = rule
        ? head.load.locate(
            { kind: 'NetworkPolicy', namespace: rule.policy.namespace, name: rule.policy.name },
            `spec.${rule.direction}[${rule.index}]`,
          )
        : undefined;
      openedAt.push(openedFlowResult(json, { file: at?.file, line: at?.line }));
    }
  }
  progress.stop();
  if (args.output === 'sarif') {
    const findings = lintResults(head.load, diff.head);
    io.stdout(
      `${JSON.stringify(sarifLog([...lintSarifRules(), OPENED_FLOW_RULE], [...findings.map((f) => f.sarif), ...openedAt], VERSION), null, 2)}\n`,
    );
    return failed ? 2 : gateLint(args, findings) || gateDiff(args, opened, closed) ? 1 : 0;
  }
  const summary = { opened, closed, addedPods: diff.addedPods, removedPods: diff.removedPods };
  if (args.output === 'json') {
    if (opened + closed > maxVerdicts) throw tooBig('changed flows', opened + closed, maxVerdicts);
    const out = bufferedWriter(io.stdout);
    out.write(
      `{\n"summary": ${JSON.stringify({ profile: args.profile, opened, closed, addedPods: diff.addedPods.length, removedPods: diff.removedPods.length })},\n"changes": [`,
    );
    listed.forEach((c, i) => {
      out.write(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(c)}`);
    });
    out.write(
      `\n],\n"addedPods": ${JSON.stringify(diff.addedPods)},\n"removedPods": ${JSON.stringify(diff.removedPods)},\n"issues": ${JSON.stringify(issues.map(issueJson))}\n}\n`,
    );
    out.flush();
  } else {
    for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
    io.stdout(
      `${args.output === 'markdown' ? renderDiffMarkdown(summary, listed) : renderDiffText(summary, listed)}\n`,
    );
  }
  if (failed) return 2;
  return gateDiff(args, opened, closed) ? 1 : 0;
}

function gateDiff(args: AnalyzeArgs, opened: number, closed: number): boolean {
  const gate = args.failOn;
  return (
    (gate === 'opened' && opened > 0) ||
    (gate === 'closed' && closed > 0) ||
    (gate === 'any' && opened + closed > 0)
  );
}

const SEVERITY_RANK: Record<LintSeverity, number> = { note: 0, warning: 1, error: 2 };

function gateLint(args: AnalyzeArgs, findings: readonly LocatedFinding[]): boolean {
  const at = args.failOnLint;
  return (
    at !== undefined && findings.some((f) => SEVERITY_RANK[f.finding.rule.severity] >= SEVERITY_RANK[at])
  );
}

interface LocatedFinding {
  readonly finding: LintFinding;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly object: string;
  readonly sarif: SarifLocated;
}

function lintResults(load: LoadResult, engine: ExpectationEngine): LocatedFinding[] {
  return lint(engine).map((finding) => {
    const ref = {
      kind: finding.object.kind,
      namespace: finding.object.kind === 'Namespace' ? undefined : finding.object.namespace,
      name: finding.object.name,
    };
    const at = load.locate(ref, finding.field ?? 'metadata.name');
    const object = `${finding.object.kind} ${finding.object.namespace ? `${finding.object.namespace}/` : ''}${finding.object.name}${finding.field ? ` ${finding.field}` : ''}`;
    return {
      finding,
      file: at?.file,
      line: at?.line,
      object,
      sarif: {
        ruleId: finding.rule.id,
        ruleName: finding.rule.name,
        level: finding.rule.severity,
        message: finding.message,
        file: at?.file,
        line: at?.line,
        object,
      },
    };
  });
}

function lintSarifRules(): SarifRule[] {
  return Object.values(LINT_RULES).map((r) => ({
    id: r.id,
    name: r.name,
    level: r.severity,
    description: r.description,
  }));
}

function runLint(args: AnalyzeArgs, io: AnalyzeIO, progress: Progress, analysis: Analysis): number {
  const located = lintResults(analysis.loaded, analysis.engine);
  progress.stop();
  const failed = analysis.issues.some((i) => i.severity === 'error');
  if (args.output === 'sarif') {
    io.stdout(
      `${JSON.stringify(
        sarifLog(
          lintSarifRules(),
          located.map((f) => f.sarif),
          VERSION,
        ),
        null,
        2,
      )}\n`,
    );
  } else if (args.output === 'json') {
    const count = (s: LintSeverity) => located.filter((f) => f.finding.rule.severity === s).length;
    const findings = located.map((f) => ({
      rule: f.finding.rule.id,
      name: f.finding.rule.name,
      severity: f.finding.rule.severity,
      message: f.finding.message,
      object: f.object,
      ...(f.file ? { file: f.file } : {}),
      ...(f.line ? { line: f.line } : {}),
      ...(f.finding.field ? { field: f.finding.field } : {}),
    }));
    const summary = { errors: count('error'), warnings: count('warning'), notes: count('note') };
    io.stdout(`${JSON.stringify({ summary, findings, issues: analysis.issues.map(issueJson) }, null, 2)}\n`);
  } else {
    for (const i of analysis.issues) io.stderr(`${formatIssue(i)}\n`);
    const bullet = args.output === 'markdown' ? '- ' : '';
    const lines = located.map(
      (f) =>
        `${bullet}${f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''}${f.finding.rule.severity} ${f.finding.rule.id} ${f.finding.rule.name}: ${f.finding.message}`,
    );
    const head = located.length === 0 ? 'Lint: no finding.' : `Lint: ${located.length} finding(s).`;
    const title = args.output === 'markdown' ? '### netaudit lint\n' : '';
    io.stdout(`${[title, head, ...lines].filter(Boolean).join('\n')}\n`);
  }
  if (failed) return 2;
  return gateLint(args, located) ? 1 : 0;
}

function explainFlow(
  engine: ExpectationEngine,
  args: AnalyzeArgs,
  issues: readonly ManifestIssue[],
  io: AnalyzeIO,
  progress: { stop(): void },
  exit: number,
): number {
  progress.stop();
  const [fromText, toText, portText] = args.explain as [string, string, string];
  const from = findEndpoint(engine, fromText, 'source');
  if (from.kind !== 'pod') throw new UsageError(`--explain: the source must be a pod, not ${fromText}`);
  const to = findEndpoint(engine, toText, 'destination');
  const port = parsePortSpec(portText);
  if (!port.ok) throw new UsageError(`--explain: ${port.error}`);
  const traffic = { from: from.pod, to, port: port.value.port, protocol: port.value.protocol };
  const verdict = engine.verdictFor(from.pod, to, traffic.port, traffic.protocol);
  for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
  if (args.output === 'json') {
    const json = podVerdictJson({
      from: from.pod,
      to: to.kind === 'pod' ? to : { kind: 'external', text: to.text },
      port: traffic.port,
      protocol: traffic.protocol,
      verdict,
    });
    io.stdout(
      `${JSON.stringify({ ...json, explanation: explain(engine.ctx, traffic, verdict) }, null, 2)}\n`,
    );
  } else {
    io.stdout(`${explain(engine.ctx, traffic, verdict).join('\n')}\n`);
  }
  return exit;
}

function matrixBody(engine: ExpectationEngine, scope: Scope, args: AnalyzeArgs, io: AnalyzeIO): string {
  const cells: Cell[] = args.classes
    ? Array.from(classVerdicts(engine, scope), (v) => ({
        from: v.from,
        to: v.to,
        port: v.port,
        protocol: v.protocol,
        allowed: v.verdict.allowed,
      }))
    : Array.from(podVerdicts(engine, scope), (v) => ({
        from: v.from.key,
        to: v.to.kind === 'pod' ? v.to.pod.key : `ip:${v.to.text}`,
        port: v.port,
        protocol: v.protocol,
        allowed: v.verdict.allowed,
      }));
  const legend = args.classes
    ? (scope.sources ?? engine.classes())
        .map((c) => `  ${c.id} (${c.namespace}): ${c.members.map((m) => m.name).join(', ')}`)
        .join('\n')
    : '';
  if (args.output === 'markdown') return [markdownMatrices(cells), legend].filter(Boolean).join('\n');
  return `${renderMatrices(cells, { color: io.color })}${legend ? `\n\nclasses:\n${legend}` : ''}`;
}

/** Past this many flows a --from / --to listing counts per namespace instead. */
const LIST_MAX = 40;

function flowList(engine: ExpectationEngine, scope: Scope, output: 'table' | 'markdown'): string {
  const listed: { allowed: PodVerdict[]; denied: PodVerdict[] } = { allowed: [], denied: [] };
  const perNs = new Map<string, { allowed: number; denied: number }>();
  let allowed = 0;
  let denied = 0;
  for (const v of podVerdicts(engine, scope)) {
    const other = scope.sources?.length === 1 ? v.to : { kind: 'pod' as const, pod: v.from };
    const ns = other.kind === 'pod' ? other.pod.namespace : 'external';
    const e = perNs.get(ns) ?? { allowed: 0, denied: 0 };
    const list = v.verdict.allowed ? listed.allowed : listed.denied;
    if (list.length <= LIST_MAX) list.push(v);
    if (v.verdict.allowed) {
      e.allowed++;
      allowed++;
    } else {
      e.denied++;
      denied++;
    }
    perNs.set(ns, e);
  }
  const name = (v: PodVerdict) =>
    `${v.from.key} -> ${v.to.kind === 'pod' ? v.to.pod.key : `ip:${v.to.text}`} ${v.port}/${v.protocol}`;
  const bullet = output === 'markdown' ? '- ' : '  ';
  const out: string[] = [`${allowed} allowed and ${denied} denied flows (pod, pod, port).`];
  if (allowed + denied <= LIST_MAX) {
    if (allowed > 0) out.push('Allowed:', ...listed.allowed.map((v) => `${bullet}${name(v)}: ${reasons(v)}`));
    if (denied > 0) out.push('Denied:', ...listed.denied.map((v) => `${bullet}${name(v)}: ${reasons(v)}`));
  } else {
    out.push('Per namespace of the other end (allowed / denied):');
    for (const [ns, e] of [...perNs.entries()].sort((a, b) => b[1].allowed - a[1].allowed).slice(0, LIST_MAX))
      out.push(`${bullet}${ns}: ${e.allowed} / ${e.denied}`);
    out.push('Every flow with its rules: add -o json; one namespace: add --namespace NS.');
  }
  return out.join('\n');
}

/** ClusterNetworkPolicies, counted in the summary only when there are some (an addition to it). */
function clusterPolicyCount(engine: ExpectationEngine): { clusterPolicies?: number } {
  const n = engine.clusterPoliciesOf('Admin').length + engine.clusterPoliciesOf('Baseline').length;
  return n > 0 ? { clusterPolicies: n } : {};
}

/** The rules that allow a flow, or the policies that isolate an end without a rule that matches. */
function reasons(v: PodVerdict): string {
  const ref = formatRuleRef;
  const { egress, ingress } = v.verdict;
  if (hasClusterReasons(v.verdict)) return verdictReasons(v.verdict).join('; ');
  if (v.verdict.allowed) {
    const by = [...egress.allowedBy, ...ingress.allowedBy].map(ref);
    return by.length > 0 ? `allowed by ${by.join(', ')}` : 'allowed: no policy isolates either end';
  }
  const why: string[] = [];
  const policies = (list: readonly { namespace: string; name: string }[]) =>
    list.map((p) => `${p.namespace}/${p.name}`).join(', ');
  if (!egress.allowed)
    why.push(
      `${policies(egress.isolatedBy)} isolate${egress.isolatedBy.length > 1 ? '' : 's'} egress and no rule allows it`,
    );
  if (!ingress.allowed)
    why.push(
      `${policies(ingress.isolatedBy)} isolate${ingress.isolatedBy.length > 1 ? '' : 's'} ingress and no rule allows it`,
    );
  return `denied: ${why.join('; ')}`;
}

function summaryBody(
  engine: ExpectationEngine,
  scope: Scope,
  output: 'table' | 'markdown',
  pods: number,
): string {
  const summary = summarize(engine, scope.sources ?? engine.classes());
  const intro = `Too many pods (${pods}) to draw as a matrix: a summary follows.`;
  return output === 'markdown'
    ? `${intro}\n\n${renderSummaryMarkdown(summary)}`
    : `${intro}\n\n${renderSummaryText(summary)}`;
}

/** Entry point for the lazily loaded command (src/cli/analyze-command.ts). */
export function runAnalyzeCli(args: Record<string, unknown>): Promise<number> {
  return runAnalyze(args as unknown as AnalyzeArgs, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    color: process.stdout.isTTY === true,
    stdin: process.stdin,
    interactive: process.stderr.isTTY === true && !process.env.CI,
  });
}
