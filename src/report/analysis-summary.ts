// The summary `analyze` prints instead of a matrix nobody could read: the largest namespaces, the
// busiest namespace pairs, and how to drill down. Text (cli-table3) and markdown.
import Table from 'cli-table3';
import type { AnalysisSummary } from '../expect/summary.ts';

/** Rows of each table before the rest is counted, not listed. */
export const SUMMARY_ROWS = 15;

export const DRILL_DOWN =
  'Drill down: --namespace NS (repeatable) for a matrix, --from NS/POD or --to NS/POD for one pod with its rules, --explain FROM TO PORT/PROTO for one flow, --classes -o json for everything in factored form.';

function namespaceRows(s: AnalysisSummary): string[][] {
  return s.namespaces
    .slice(0, SUMMARY_ROWS)
    .map((n) => [
      n.name,
      String(n.pods),
      String(n.classes),
      String(n.policies),
      String(n.ingressIsolatedPods),
      String(n.egressIsolatedPods),
      String(openPods(n)),
    ]);
}

/** Pods isolated in neither direction. */
function openPods(n: AnalysisSummary['namespaces'][number]): number {
  return Math.max(0, n.pods - Math.max(n.ingressIsolatedPods, n.egressIsolatedPods));
}

/** No rule between rows: a summary is read down its columns. */
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

const NS_HEAD = ['namespace', 'pods', 'classes', 'policies', 'ingress-isolated', 'egress-isolated', 'open'];
const PAIR_HEAD = ['from namespace', 'to namespace', 'allowed flows', 'denied flows'];

/** How many namespace pairs are open, closed, or partly open. */
function pairShape(pairs: NonNullable<AnalysisSummary['pairs']>): string {
  const open = pairs.filter((p) => p.denied === 0).length;
  const closed = pairs.filter((p) => p.allowed === 0).length;
  return `${pairs.length} pairs: ${open} fully open, ${closed} fully closed, ${pairs.length - open - closed} partly open.`;
}

function more(n: number, what: string): string {
  return n > 0 ? `(${n} more ${what} not listed)` : '';
}

export function renderSummaryText(s: AnalysisSummary): string {
  const out: string[] = [];
  const ns = new Table({ head: NS_HEAD, chars: COMPACT, style: { head: [], border: [] } });
  ns.push(...namespaceRows(s));
  out.push('Namespaces, largest first (pods isolated per direction; open = isolated in neither):');
  out.push(ns.toString());
  const restNs = more(s.namespaces.length - SUMMARY_ROWS, 'namespaces');
  if (restNs) out.push(restNs);
  out.push('');
  if (s.pairs) {
    const pairs = new Table({ head: PAIR_HEAD, chars: COMPACT, style: { head: [], border: [] } });
    pairs.push(
      ...s.pairs.slice(0, SUMMARY_ROWS).map((p) => [p.from, p.to, String(p.allowed), String(p.denied)]),
    );
    out.push(
      `Namespace pairs, most allowed flows first (a flow: source pod, destination pod, port). ${pairShape(s.pairs)}`,
    );
    out.push(pairs.toString());
    const restPairs = more(s.pairs.length - SUMMARY_ROWS, 'namespace pairs');
    if (restPairs) out.push(restPairs);
  } else {
    out.push(
      `Flows per namespace pair were not counted: that takes ${s.pairCells} verdicts; narrow the scope with --namespace.`,
    );
  }
  out.push('', DRILL_DOWN);
  return out.join('\n');
}

function mdTable(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function renderSummaryMarkdown(s: AnalysisSummary): string {
  const out: string[] = [];
  out.push('#### Namespaces, largest first', '', mdTable(NS_HEAD, namespaceRows(s)));
  const restNs = more(s.namespaces.length - SUMMARY_ROWS, 'namespaces');
  if (restNs) out.push('', restNs);
  out.push('');
  if (s.pairs) {
    out.push(
      `#### Namespace pairs, most allowed flows first\n\n${pairShape(s.pairs)}`,
      '',
      mdTable(
        PAIR_HEAD,
        s.pairs.slice(0, SUMMARY_ROWS).map((p) => [p.from, p.to, String(p.allowed), String(p.denied)]),
      ),
    );
    const restPairs = more(s.pairs.length - SUMMARY_ROWS, 'namespace pairs');
    if (restPairs) out.push('', restPairs);
  } else {
    out.push(
      `Flows per namespace pair were not counted (${s.pairCells} verdicts); narrow with \`--namespace\`.`,
    );
  }
  out.push('', DRILL_DOWN.replace(/(--[a-z]+(?: [A-Z/]+)*)/g, '`$1`'));
  return out.join('\n');
}
