// `netaudit analyze`: the expected reachability of manifests, offline (CI before deploy).
import { formatIssue, type ManifestIssue, UsageError } from '../errors.ts';
import { classesOf } from '../model/classes.ts';
import { buildSnapshot, type ClusterSnapshot, evalContext, type ObjectIssue } from '../model/cluster.ts';
import { type LoadResult, parseManifests } from '../model/manifests.ts';
import {
  type ClassMatrix,
  computeMatrix,
  type ExternalTarget,
  expandToPods,
  type PortSpec,
} from '../model/matrix.ts';
import { parseIpLiteral } from '../policy/cidr.ts';
import { evaluate } from '../policy/evaluate.ts';
import { explain } from '../policy/explain.ts';
import { isProfileName, PROFILE_NAMES, PROFILES } from '../policy/profiles.ts';
import type { Endpoint } from '../policy/types.ts';
import { parsePortSpec } from '../probe/ports.ts';
import { classJson, classVerdictJson, issueJson, podVerdictJson } from '../report/analysis-json.ts';
import { markdownIssues, markdownMatrices } from '../report/markdown.ts';
import { type Cell, renderMatrices } from '../report/matrix-table.ts';
import { readManifestSources } from './files.ts';

export interface AnalyzeArgs {
  readonly file: readonly string[];
  readonly port: readonly string[];
  readonly external: readonly string[];
  readonly profile: string;
  readonly output: 'table' | 'json' | 'markdown';
  readonly classes: boolean;
  readonly explain: readonly string[] | undefined;
}

export interface AnalyzeIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly color: boolean;
  readonly stdin?: AsyncIterable<string | Uint8Array>;
}

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
      namespace: i.kind === 'Namespace' ? undefined : (i.namespace ?? 'default'),
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
  readonly snapshot: ClusterSnapshot;
  readonly matrix: ClassMatrix;
  readonly issues: readonly ManifestIssue[];
  readonly excluded: readonly { key: string; reason: string }[];
}

export function analyzeLoaded(
  load: LoadResult,
  options: { profile: keyof typeof PROFILES; ports?: PortSpec[]; externals: ExternalTarget[] },
): Analysis {
  const profile = PROFILES[options.profile];
  const built = buildSnapshot(
    {
      namespaces: load.namespaces.map((l) => l.object),
      pods: load.pods.map((l) => l.object),
      policies: load.policies.map((l) => l.object),
    },
    profile,
  );
  const ctx = evalContext(built.snapshot);
  const { classes } = classesOf(built.snapshot);
  const allPolicies = [...built.snapshot.policies.values()].flat();
  const matrix = computeMatrix(ctx, classes, allPolicies, {
    ports: options.ports,
    externals: options.externals,
  });
  return {
    snapshot: built.snapshot,
    matrix,
    issues: [...load.issues, ...locateIssues(load, built.issues)],
    excluded: built.excluded,
  };
}

function findEndpoint(snapshot: ClusterSnapshot, text: string, role: string): Endpoint {
  const pod = snapshot.pods.find((p) => p.key === text);
  if (pod) return { kind: 'pod', pod };
  const ipText = text.startsWith('ip:') ? text.slice(3) : text;
  const ip = parseIpLiteral(ipText);
  if (ip.ok && !text.includes('/')) return { kind: 'external', ip: ip.value, text: ipText };
  const near = snapshot.pods
    .map((p) => p.key)
    .filter((k) => k.endsWith(`/${text.split('/').pop()}`))
    .slice(0, 5);
  throw new UsageError(
    `--explain: ${role} "${text}" is not a pod (ns/name) of the input${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
  );
}

export async function runAnalyze(args: AnalyzeArgs, io: AnalyzeIO): Promise<number> {
  if (!isProfileName(args.profile)) {
    throw new UsageError(`--profile "${args.profile}" is not one of ${PROFILE_NAMES.join(', ')}`);
  }
  const ports = args.port.length > 0 ? parsePorts(args.port) : undefined;
  const externals = parseExternals(args.external);
  const read = await readManifestSources([...args.file], io.stdin ? { stdin: io.stdin } : {});
  const load = parseManifests(read.sources);
  const analysis = analyzeLoaded(load, { profile: args.profile, ...(ports ? { ports } : {}), externals });
  const issues = [...read.issues, ...analysis.issues];
  const failed = issues.some((i) => i.severity === 'error');

  if (args.explain) {
    const [fromText, toText, portText] = args.explain as [string, string, string];
    const from = findEndpoint(analysis.snapshot, fromText, 'source');
    if (from.kind !== 'pod') throw new UsageError(`--explain: the source must be a pod, not ${fromText}`);
    const to = findEndpoint(analysis.snapshot, toText, 'destination');
    const port = parsePortSpec(portText);
    if (!port.ok) throw new UsageError(`--explain: ${port.error}`);
    const ctx = evalContext(analysis.snapshot);
    const traffic = { from: from.pod, to, port: port.value.port, protocol: port.value.protocol };
    const verdict = evaluate(ctx, traffic);
    for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
    if (args.output === 'json') {
      const json = podVerdictJson({
        from: from.pod,
        to: to.kind === 'pod' ? to : { kind: 'external', text: to.text },
        port: traffic.port,
        protocol: traffic.protocol,
        verdict,
      });
      io.stdout(`${JSON.stringify({ ...json, explanation: explain(ctx, traffic, verdict) }, null, 2)}\n`);
    } else {
      io.stdout(`${explain(ctx, traffic, verdict).join('\n')}\n`);
    }
    return failed ? 2 : 0;
  }

  const summary = {
    profile: args.profile,
    namespaces: analysis.snapshot.namespaces.size,
    pods: analysis.snapshot.pods.length,
    policies: [...analysis.snapshot.policies.values()].reduce((n, l) => n + l.length, 0),
    classes: analysis.matrix.classes.length,
    excluded: analysis.excluded.length,
    errors: issues.filter((i) => i.severity === 'error').length,
    warnings: issues.filter((i) => i.severity === 'warning').length,
  };

  if (args.output === 'json') {
    const body = args.classes
      ? {
          classes: analysis.matrix.classes.map(classJson),
          verdicts: Array.from(analysis.matrix.verdicts(), classVerdictJson),
        }
      : { verdicts: Array.from(expandToPods(analysis.matrix), podVerdictJson) };
    io.stdout(
      `${JSON.stringify({ summary, ...body, excluded: analysis.excluded, issues: issues.map(issueJson) }, null, 2)}\n`,
    );
    return failed ? 2 : 0;
  }

  for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
  const cells: Cell[] = args.classes
    ? Array.from(analysis.matrix.verdicts(), (v) => ({
        from: v.from,
        to: v.to,
        port: v.port,
        protocol: v.protocol,
        allowed: v.verdict.allowed,
      }))
    : Array.from(expandToPods(analysis.matrix), (v) => ({
        from: v.from.key,
        to: v.to.kind === 'pod' ? v.to.pod.key : `ip:${v.to.text}`,
        port: v.port,
        protocol: v.protocol,
        allowed: v.verdict.allowed,
      }));
  const head = `${summary.pods} pods in ${summary.namespaces} namespaces, ${summary.policies} policies, ${summary.classes} classes (profile ${summary.profile})`;
  const excludedText = analysis.excluded.map((e) => `  not analysed: ${e.key}: ${e.reason}`).join('\n');
  const classLegend = args.classes
    ? analysis.matrix.classes
        .map((c) => `  ${c.id} (${c.namespace}): ${c.members.map((m) => m.name).join(', ')}`)
        .join('\n')
    : '';
  if (args.output === 'markdown') {
    io.stdout(
      [
        `### netaudit analyze\n`,
        `${head}\n`,
        markdownIssues(issues),
        markdownMatrices(cells),
        excludedText,
        classLegend,
      ]
        .filter(Boolean)
        .join('\n'),
    );
    io.stdout('\n');
  } else {
    io.stdout(`${head}\n\n${renderMatrices(cells, { color: io.color })}\n`);
    if (classLegend) io.stdout(`\nclasses:\n${classLegend}\n`);
    if (excludedText) io.stdout(`\n${excludedText}\n`);
    if (failed) io.stdout(`\n${summary.errors} invalid object(s) were skipped; see the errors above.\n`);
  }
  return failed ? 2 : 0;
}

/** Entry point for the lazily loaded command (src/cli/analyze-command.ts). */
export function runAnalyzeCli(args: Record<string, unknown>): Promise<number> {
  return runAnalyze(args as unknown as AnalyzeArgs, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    color: process.stdout.isTTY === true,
    stdin: process.stdin,
  });
}
