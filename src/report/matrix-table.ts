// Reachability matrices for people: one table per port/protocol, sources as rows, destinations as
// columns grouped under their namespace. Colour only when asked (the caller passes isTTY).
import { styleText } from 'node:util';
import Table from 'cli-table3';
import { type Protocol, portKey } from '../core/traffic.ts';

export interface Cell {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** true = allowed, false = denied; a mismatch renders with both expected and observed. */
  readonly allowed: boolean;
  readonly mark?: string;
}

export interface TableOptions {
  readonly color: boolean;
  /** Above this many columns, pod names are numbered and listed in a legend. */
  readonly compactAbove?: number;
}

function split(id: string): [string, string] {
  if (id.startsWith('ip:')) return ['external', id.slice(3)];
  const slash = id.indexOf('/');
  return slash < 0 ? ['', id] : [id.slice(0, slash), id.slice(slash + 1)];
}

function groupRuns(ids: readonly string[]): { group: string; count: number }[] {
  const runs: { group: string; count: number }[] = [];
  for (const id of ids) {
    const [group] = split(id);
    const last = runs[runs.length - 1];
    if (last && last.group === group) last.count++;
    else runs.push({ group, count: 1 });
  }
  return runs;
}

export function renderMatrices(cells: readonly Cell[], options: TableOptions): string {
  const byPort = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = portKey(c);
    const list = byPort.get(k) ?? [];
    list.push(c);
    byPort.set(k, list);
  }
  const sortedPorts = [...byPort.keys()].sort((a, b) => {
    const [pa, qa] = a.split('/') as [string, string];
    const [pb, qb] = b.split('/') as [string, string];
    return Number(pa) - Number(pb) || (qa < qb ? -1 : 1);
  });
  const paint = (text: string, style: Parameters<typeof styleText>[0]): string =>
    options.color ? styleText(style, text) : text;
  const out: string[] = [];
  for (const port of sortedPorts) {
    const list = byPort.get(port) ?? [];
    const rows = [...new Set(list.map((c) => c.from))].sort();
    const cols = [...new Set(list.map((c) => c.to))].sort((a, b) => {
      const ea = a.startsWith('ip:');
      const eb = b.startsWith('ip:');
      return ea === eb ? (a < b ? -1 : 1) : ea ? 1 : -1;
    });
    const compact = cols.length > (options.compactAbove ?? 24);
    const index = new Map(list.map((c) => [`${c.from}\0${c.to}`, c]));
    const colLabel = (id: string, i: number): string => (compact ? String(i + 1) : split(id)[1]);
    const table = new Table({
      style: { head: [], border: [], compact: true, 'padding-left': 1, 'padding-right': 1 },
      chars: compact ? { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } : {},
    });
    table.push([
      { content: paint(port, 'bold'), rowSpan: 2, vAlign: 'bottom' },
      ...groupRuns(cols).map((r) => ({ content: r.group, colSpan: r.count, hAlign: 'center' as const })),
    ]);
    table.push(cols.map((c, i) => ({ content: colLabel(c, i), hAlign: 'center' as const })));
    for (const from of rows) {
      table.push([
        from,
        ...cols.map((to) => {
          const c = index.get(`${from}\0${to}`);
          if (!c) return { content: from === to ? paint('-', 'dim') : ' ', hAlign: 'center' as const };
          const text = c.mark ?? (c.allowed ? '✓' : '✗');
          return {
            content: paint(text, c.mark ? 'yellow' : c.allowed ? 'green' : 'red'),
            hAlign: 'center' as const,
          };
        }),
      ]);
    }
    out.push(table.toString());
    if (compact) out.push(cols.map((c, i) => `  ${i + 1}: ${c}`).join('\n'));
  }
  return out.join('\n\n');
}
