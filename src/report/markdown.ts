// Markdown for a pull-request comment: a summary, the issues, and matrices small enough to read.
import { portKey } from '../core/traffic.ts';
import type { ManifestIssue } from '../errors.ts';
import type { Cell } from './matrix-table.ts';

export function escapeMd(s: string): string {
  return s.replace(/[|\\`*_<>]/g, (c) => `\\${c}`);
}

export function markdownIssues(issues: readonly ManifestIssue[]): string {
  if (issues.length === 0) return '';
  const lines = issues.map((i) => {
    const where = [i.file && (i.line ? `${i.file}:${i.line}` : i.file), i.object, i.field]
      .filter(Boolean)
      .join(' ');
    return `- ${i.severity === 'error' ? '**error**' : 'warning'} \`${escapeMd(where)}\`: ${escapeMd(i.message)}`;
  });
  return `### Input issues\n\n${lines.join('\n')}\n`;
}

export function markdownMatrices(cells: readonly Cell[], maxColumns = 20): string {
  const byPort = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = portKey(c);
    byPort.set(k, [...(byPort.get(k) ?? []), c]);
  }
  const out: string[] = [];
  for (const [port, list] of [...byPort.entries()].sort(
    ([a], [b]) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : 1),
  )) {
    const rows = [...new Set(list.map((c) => c.from))].sort();
    const cols = [...new Set(list.map((c) => c.to))].sort();
    out.push(`#### ${port}\n`);
    if (cols.length > maxColumns) {
      const denied = list.filter((c) => !c.allowed);
      out.push(
        `${list.length} flows, ${denied.length} denied (too many destinations for a matrix; use \`-o table\` or \`--classes\`).\n`,
      );
      continue;
    }
    const index = new Map(list.map((c) => [`${c.from}\0${c.to}`, c]));
    out.push(`| from \\ to | ${cols.map((c) => `\`${escapeMd(c)}\``).join(' | ')} |`);
    out.push(`|---|${cols.map(() => ':-:').join('|')}|`);
    for (const from of rows) {
      const cellsOfRow = cols.map((to) => {
        const c = index.get(`${from}\0${to}`);
        return c ? (c.mark ?? (c.allowed ? '✅' : '❌')) : from === to ? '—' : ' ';
      });
      out.push(`| \`${escapeMd(from)}\` | ${cellsOfRow.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
