// Renders an audit report: JSON (CONTRACT: {summary: {probes, mismatches, unexpectedAllow,
// unexpectedDeny, flaky, skipped}, mismatches: [{from, to, port, protocol, expected, observed, kind,
// because}]}, with additions), a table for people, and markdown for a pull request or issue.
import { styleText } from 'node:util';
import Table from 'cli-table3';
import type { RoundReport } from '../audit/round.ts';
import { escapeMd } from './markdown.ts';

export function auditJson(
  report: RoundReport,
  extra: Record<string, unknown> = {},
  includeProbes = false,
): string {
  return `${JSON.stringify(
    {
      summary: report.summary,
      mismatches: report.mismatches,
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

function summaryLine(report: RoundReport): string {
  const s = report.summary;
  return (
    `${s.probes} probes from ${s.classes} classes on ${s.nodes} nodes (${s.podsCreated} probe pods; ` +
    `a pod-by-pod audit would need ${s.podPairProbes} probes): ` +
    `${s.mismatches} mismatches (${s.unexpectedAllow} unexpected-allow, ${s.unexpectedDeny} unexpected-deny), ` +
    `${s.flaky} flaky, ${s.inconclusive} inconclusive, ${s.skipped} classes skipped`
  );
}

export function auditTable(report: RoundReport, color: boolean): string {
  const paint = (text: string, style: Parameters<typeof styleText>[0]): string =>
    color ? styleText(style, text) : text;
  const out: string[] = [summaryLine(report)];
  if (report.mismatches.length > 0) {
    const table = new Table({
      head: ['kind', 'flow', 'expected', 'observed', 'probed on', 'because'],
      style: { head: [], border: [] },
      wordWrap: true,
      colWidths: [18, 44, 10, 11, 20, 40],
    });
    for (const m of report.mismatches) {
      table.push([
        paint(m.kind, m.kind === 'unexpected-allow' ? 'red' : 'yellow'),
        `${m.from} -> ${m.to} ${m.port}/${m.protocol}`,
        m.expected,
        m.observed,
        // The same flow is probed between every pair of nodes: the placement tells the rows apart,
        // and the node that failed to enforce (or dropped) is named first.
        `${m.nodes.join(', ')}\n(${m.srcNode} -> ${m.dstNode ?? 'external'})`,
        m.because.join('\n'),
      ]);
    }
    out.push(table.toString());
  } else {
    out.push(paint('No mismatch: every probed flow behaved as the policies say.', 'green'));
  }
  for (const s of report.skipped)
    out.push(`skipped class ${s.classId} (${s.members.join(', ')}): ${s.reason}`);
  for (const f of report.failedPods)
    out.push(`probe pod ${f.namespace}/${f.name} on ${f.node} failed: ${f.reason}`);
  if (report.flaky.length > 0) {
    out.push(`flaky (not reported as mismatches): ${report.flaky.length}`);
    for (const f of report.flaky.slice(0, 10))
      out.push(`  ${f.from} -> ${f.to} ${f.port}/${f.protocol} from ${f.srcNode}: ${f.reason}`);
  }
  if (report.inconclusive.length > 0) {
    out.push(`inconclusive (never counted as blocked): ${report.inconclusive.length}`);
    for (const f of report.inconclusive.slice(0, 10))
      out.push(`  ${f.from} -> ${f.to} ${f.port}/${f.protocol} from ${f.srcNode}: ${f.reason}`);
  }
  return `${out.join('\n')}\n`;
}

export function auditMarkdown(report: RoundReport): string {
  const out = ['### netaudit audit', '', summaryLine(report), ''];
  if (report.mismatches.length > 0) {
    out.push('| kind | flow | expected | observed | node | because |', '|---|---|---|---|---|---|');
    for (const m of report.mismatches) {
      out.push(
        `| ${m.kind === 'unexpected-allow' ? '🔴' : '🟡'} ${m.kind} | \`${escapeMd(`${m.from} -> ${m.to} ${m.port}/${m.protocol}`)}\` | ${m.expected} | ${m.observed} | ${m.nodes.join(', ')} | ${m.because.map(escapeMd).join('<br>')} |`,
      );
    }
  } else {
    out.push('✅ No mismatch: every probed flow behaved as the policies say.');
  }
  for (const s of report.skipped) out.push(`- skipped \`${s.classId}\`: ${escapeMd(s.reason)}`);
  for (const f of report.failedPods)
    out.push(`- probe pod \`${f.namespace}/${f.name}\` failed: ${escapeMd(f.reason)}`);
  return `${out.join('\n')}\n`;
}
