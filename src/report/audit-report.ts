// Renders an audit report: JSON (CONTRACT: {summary: {probes, mismatches, unexpectedAllow,
// unexpectedDeny, flaky, skipped}, mismatches: [{from, to, port, protocol, expected, observed, kind,
// because}], nodes: [{name, status, probes, unexpectedAllow, unexpectedDeny, inconclusive, reason}]},
// with additions: each mismatch's `reasons` are its `because` as data, for programs), a table for people, and markdown for a pull request or issue.
//
// People get one answer per cause: the verdict of each node first, then the findings grouped by the
// node that explains them, then the findings no node explains; every flow is listed with --details
// (or in JSON). A healthy cluster prints its node verdicts and one sentence.
import { styleText } from 'node:util';
import Table from 'cli-table3';
import { groupByNode, type NodeVerdict } from '../audit/nodes.ts';
import type { RoundReport, Unsettled } from '../audit/round.ts';
import type { Finding } from '../core/flow.ts';
import { formatReason } from '../expect/reasons.ts';
import { escapeMd } from './markdown.ts';
import { nodeReason, nodesJson } from './nodes.ts';

export interface AuditView {
  readonly report: RoundReport;
  readonly nodes: readonly NodeVerdict[];
  /** The engine answered through the simulated runner: no pod was created, nothing was probed. */
  readonly dryRun: boolean;
  /** List every finding, flaky and inconclusive probe (otherwise: grouped by cause, with counts). */
  readonly details: boolean;
  /** The CNI profile, and why `--profile auto` chose it. */
  readonly profile?: { readonly name: string; readonly detected: string | undefined };
}

function profileLine(view: AuditView): string[] {
  const p = view.profile;
  return p ? [`CNI profile ${p.name}${p.detected ? ` (auto: ${p.detected})` : ''}`] : [];
}

export function auditJson(
  view: AuditView,
  extra: Record<string, unknown> = {},
  includeProbes = false,
): string {
  const { report } = view;
  return `${JSON.stringify(
    {
      summary: report.summary,
      ...(view.dryRun ? { dryRun: true } : {}),
      nodes: nodesJson(view.nodes),
      mismatches: report.mismatches.map((m) => ({
        ...m,
        because: m.because.map(formatReason),
        reasons: m.because,
      })),
      flaky: report.flaky,
      inconclusive: report.inconclusive,
      skipped: report.skipped,
      failedPods: report.failedPods,
      timings: report.timings,
      ...(includeProbes ? { probes: report.probes } : {}),
      ...extra,
    },
    null,
    2,
  )}\n`;
}

function statsLine(view: AuditView): string {
  const s = view.report.summary;
  const pods = view.dryRun ? `${s.podsCreated} probe pods it would create` : `${s.podsCreated} probe pods`;
  return (
    `${s.probes} ${view.dryRun ? 'flows planned' : 'probes'} from ${s.classes} classes on ${s.nodes} nodes (${pods}; ` +
    `a pod-by-pod audit would need ${s.podPairProbes} probes), ` +
    `${s.flaky} flaky, ${s.skipped} classes skipped`
  );
}

/** The sentence that says what was concluded. */
export function conclusion(view: AuditView): string {
  const s = view.report.summary;
  if (view.dryRun) {
    const denied = view.report.probes.filter((p) => p.expected === 'deny').length;
    return (
      `Dry run: the engine's prediction for ${s.probes} flows (${s.probes - denied} allowed, ${denied} denied); ` +
      'no pod was created and nothing was probed.'
    );
  }
  const conclusive = s.probes - s.inconclusive;
  if (s.mismatches === 0)
    return `No mismatch among ${conclusive} conclusive flows; ${s.inconclusive} inconclusive.`;
  return (
    `${s.mismatches} mismatches (${s.unexpectedAllow} unexpected-allow, ${s.unexpectedDeny} unexpected-deny) ` +
    `among ${conclusive} conclusive flows; ${s.inconclusive} inconclusive.`
  );
}

/** `count × reason`, most frequent first: what inconclusive or flaky probes have in common. */
export function byReason(list: readonly Unsettled[]): { readonly reason: string; readonly count: number }[] {
  const counts = new Map<string, number>();
  for (const u of list) counts.set(u.reason, (counts.get(u.reason) ?? 0) + 1);
  return [...counts]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
}

function causeLine(node: string, verdict: NodeVerdict | undefined, findings: readonly Finding[]): string {
  const what = verdict?.status === 'partial' ? 'is only partly enforcing' : 'is not enforcing';
  return `${node} ${what} NetworkPolicy: ${findings.length} unexpected-allow flows through it`;
}

function unsettledLine(f: Unsettled): string {
  return `${f.from} -> ${f.to} ${f.port}/${f.protocol} (${f.srcNode} -> ${f.dstNode ?? 'external'}): ${f.reason}`;
}

export function auditTable(view: AuditView, color: boolean): string {
  const { report } = view;
  const paint = (text: string, style: Parameters<typeof styleText>[0]): string =>
    color ? styleText(style, text) : text;
  const out: string[] = [statsLine(view), ...profileLine(view)];
  if (view.nodes.length > 0) {
    const nodes = new Table({
      head: [
        'node',
        'verdict',
        'probes',
        'unexpected\nallow',
        'unexpected\ndeny',
        'incon-\nclusive',
        'reason',
      ],
      style: { head: [], border: [] },
      wordWrap: true,
      colWidths: [20, 15, 8, 12, 12, 9, 56],
    });
    for (const v of view.nodes) {
      const style = v.status === 'enforcing' ? 'green' : v.status === 'not-enforcing' ? 'red' : 'yellow';
      nodes.push([
        v.name,
        paint(v.status, style),
        v.probes,
        v.unexpectedAllow,
        v.unexpectedDeny,
        v.inconclusive,
        nodeReason(v),
      ]);
    }
    out.push(nodes.toString());
  }
  const ok = report.mismatches.length === 0;
  out.push(paint(conclusion(view), ok ? 'green' : 'red'));
  if (!ok) {
    const { byNode, other } = groupByNode(report.mismatches, view.nodes);
    for (const [node, findings] of byNode)
      out.push(
        paint(
          causeLine(
            node,
            view.nodes.find((v) => v.name === node),
            findings,
          ),
          'red',
        ),
      );
    const listed = view.details ? report.mismatches : other;
    if (listed.length > 0) {
      if (byNode.size > 0 && !view.details) out.push(`${other.length} findings no node verdict explains:`);
      out.push(findingsTable(listed, paint));
    }
    if (!view.details && listed.length < report.mismatches.length)
      out.push(`(--details lists all ${report.mismatches.length} flows; -o json has them with their rules)`);
  }
  for (const s of report.skipped)
    out.push(`skipped class ${s.classId} (${s.members.join(', ')}): ${s.reason}`);
  for (const f of report.failedPods)
    out.push(`probe pod ${f.namespace}/${f.name} on ${f.node} failed: ${f.reason}`);
  if (report.flaky.length > 0) {
    out.push(`flaky (not reported as mismatches): ${report.flaky.length}`);
    if (view.details) for (const f of report.flaky) out.push(`  ${unsettledLine(f)}`);
    else for (const r of byReason(report.flaky)) out.push(`  ${r.count} × ${r.reason}`);
  }
  if (report.inconclusive.length > 0) {
    out.push(`inconclusive (never counted as blocked): ${report.inconclusive.length}`);
    if (view.details) for (const f of report.inconclusive) out.push(`  ${unsettledLine(f)}`);
    else for (const r of byReason(report.inconclusive)) out.push(`  ${r.count} × ${r.reason}`);
  }
  return `${out.join('\n')}\n`;
}

function findingsTable(
  findings: readonly Finding[],
  paint: (t: string, s: 'red' | 'yellow') => string,
): string {
  const table = new Table({
    head: ['kind', 'flow', 'expected', 'observed', 'probed on', 'because'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [18, 44, 10, 11, 20, 40],
  });
  for (const m of findings) {
    table.push([
      paint(m.kind, m.kind === 'unexpected-allow' ? 'red' : 'yellow'),
      `${m.from} -> ${m.to} ${m.port}/${m.protocol}`,
      m.expected,
      m.observed,
      // The same flow is probed between every pair of nodes: the placement tells the rows apart,
      // and the node that failed to enforce (or dropped) is named first.
      `${m.nodes.join(', ')}\n(${m.srcNode} -> ${m.dstNode ?? 'external'})`,
      m.because.map(formatReason).join('\n'),
    ]);
  }
  return table.toString();
}

export function auditMarkdown(view: AuditView): string {
  const { report } = view;
  const out = ['### netaudit audit', '', statsLine(view), ...profileLine(view).map(escapeMd), ''];
  if (view.nodes.length > 0) {
    out.push('| node | verdict | probes | unexpected-allow | unexpected-deny | inconclusive | reason |');
    out.push('|---|---|---|---|---|---|---|');
    for (const v of view.nodes) {
      const icon = v.status === 'enforcing' ? '✅' : v.status === 'not-enforcing' ? '🔴' : '🟡';
      out.push(
        `| \`${escapeMd(v.name)}\` | ${icon} ${v.status} | ${v.probes} | ${v.unexpectedAllow} | ${v.unexpectedDeny} | ${v.inconclusive} | ${escapeMd(nodeReason(v))} |`,
      );
    }
    out.push('');
  }
  const ok = report.mismatches.length === 0;
  out.push(`${ok ? '✅' : '🔴'} ${conclusion(view)}`, '');
  if (!ok) {
    const { byNode, other } = groupByNode(report.mismatches, view.nodes);
    for (const [node, findings] of byNode)
      out.push(
        `- 🔴 ${escapeMd(
          causeLine(
            node,
            view.nodes.find((v) => v.name === node),
            findings,
          ),
        )}`,
      );
    if (byNode.size > 0) out.push('');
    const listed = view.details ? report.mismatches : other;
    if (listed.length > 0) {
      out.push('| kind | flow | expected | observed | node | because |', '|---|---|---|---|---|---|');
      for (const m of listed) {
        out.push(
          `| ${m.kind === 'unexpected-allow' ? '🔴' : '🟡'} ${m.kind} | \`${escapeMd(`${m.from} -> ${m.to} ${m.port}/${m.protocol}`)}\` | ${m.expected} | ${m.observed} | ${m.nodes.join(', ')} | ${m.because.map((r) => escapeMd(formatReason(r))).join('<br>')} |`,
        );
      }
      out.push('');
    }
    if (!view.details && listed.length < report.mismatches.length)
      out.push(`Every flow: \`--details\` or \`-o json\` (${report.mismatches.length} flows).`, '');
  }
  for (const s of report.skipped) out.push(`- skipped \`${s.classId}\`: ${escapeMd(s.reason)}`);
  for (const f of report.failedPods)
    out.push(`- probe pod \`${f.namespace}/${f.name}\` failed: ${escapeMd(f.reason)}`);
  for (const r of byReason(report.inconclusive))
    out.push(`- inconclusive: ${r.count} × ${escapeMd(r.reason)}`);
  return `${out.join('\n')}\n`;
}
