// What a change opens and closes, for programs (JSON, contract), for a pull-request comment
// (markdown: opened flows first, grouped by namespace pair and the rules that now decide them,
// every flow behind a collapsed list) and for a terminal.
import type { FlowChange } from '../expect/diff.ts';
import { verdictReasons } from '../expect/reasons.ts';
import { escapeMd } from './markdown.ts';

export interface ChangeJson {
  from: string;
  to: string;
  port: number;
  protocol: string;
  before: 'allow' | 'deny';
  after: 'allow' | 'deny';
  because: string[];
}

export function changeJson(c: FlowChange): ChangeJson {
  return {
    from: c.from.key,
    to: c.to.kind === 'pod' ? c.to.pod.key : `ip:${c.to.text}`,
    port: c.port,
    protocol: c.protocol,
    before: c.before.allowed ? 'allow' : 'deny',
    after: c.after.allowed ? 'allow' : 'deny',
    because: verdictReasons(c.after),
  };
}

interface Group {
  readonly fromNs: string;
  readonly toNs: string;
  readonly because: string;
  readonly flows: ChangeJson[];
}

/** Flows grouped by namespace pair and the rules that decide them now, largest group first. */
export function groupChanges(changes: readonly ChangeJson[]): Group[] {
  const groups = new Map<string, Group>();
  for (const c of changes) {
    const fromNs = c.from.split('/')[0] ?? '';
    const toNs = c.to.startsWith('ip:') ? 'external' : (c.to.split('/')[0] ?? '');
    const because = c.because.join(', ') || 'no policy isolates either end';
    const k = `${fromNs}\n${toNs}\n${because}`;
    let g = groups.get(k);
    if (!g) {
      g = { fromNs, toNs, because, flows: [] };
      groups.set(k, g);
    }
    g.flows.push(c);
  }
  return [...groups.values()].sort((a, b) => b.flows.length - a.flows.length);
}

export interface DiffSummary {
  readonly opened: number;
  readonly closed: number;
  readonly addedPods: readonly string[];
  readonly removedPods: readonly string[];
}

/** Flows listed one by one in a collapsed block before the rest is only counted. */
const LIST_MAX = 200;
const GROUPS_MAX = 30;

const flowText = (c: ChangeJson) => `${c.from} -> ${c.to} ${c.port}/${c.protocol}`;

function section(title: string, changes: readonly ChangeJson[]): string[] {
  if (changes.length === 0) return [];
  const groups = groupChanges(changes);
  const out = [
    `#### ${title} (${changes.length})`,
    '',
    '| from | to | flows | decided by |',
    '|---|---|---|---|',
  ];
  for (const g of groups.slice(0, GROUPS_MAX))
    out.push(`| ${escapeMd(g.fromNs)} | ${escapeMd(g.toNs)} | ${g.flows.length} | ${escapeMd(g.because)} |`);
  if (groups.length > GROUPS_MAX)
    out.push('', `${groups.length - GROUPS_MAX} more groups: see the JSON output.`);
  out.push('', `<details><summary>Every flow (${changes.length})</summary>`, '');
  for (const c of changes.slice(0, LIST_MAX)) out.push(`- \`${flowText(c)}\``);
  if (changes.length > LIST_MAX)
    out.push(`- ...and ${changes.length - LIST_MAX} more (\`-o json\` lists all)`);
  out.push('', '</details>', '');
  return out;
}

export function renderDiffMarkdown(summary: DiffSummary, changes: readonly ChangeJson[]): string {
  const opened = changes.filter((c) => c.after === 'allow');
  const closed = changes.filter((c) => c.after === 'deny');
  const head =
    summary.opened + summary.closed === 0
      ? 'This change opens and closes no flow.'
      : `This change **opens ${summary.opened}** and closes ${summary.closed} flows (pod, pod, port).`;
  const pods = [
    summary.addedPods.length > 0
      ? `Pods added: ${summary.addedPods.map((p) => `\`${escapeMd(p)}\``).join(', ')}.`
      : '',
    summary.removedPods.length > 0
      ? `Pods removed: ${summary.removedPods.map((p) => `\`${escapeMd(p)}\``).join(', ')}.`
      : '',
  ].filter(Boolean);
  return [
    '### netaudit: what this change opens and closes',
    '',
    head,
    ...(pods.length ? ['', ...pods] : []),
    '',
    ...section('Opened', opened),
    ...section('Closed', closed),
  ].join('\n');
}

export function renderDiffText(summary: DiffSummary, changes: readonly ChangeJson[]): string {
  const out = [
    `${summary.opened} flows opened, ${summary.closed} closed (pod, pod, port); ${summary.addedPods.length} pods added, ${summary.removedPods.length} removed.`,
  ];
  for (const [title, list] of [
    ['Opened', changes.filter((c) => c.after === 'allow')],
    ['Closed', changes.filter((c) => c.after === 'deny')],
  ] as const) {
    if (list.length === 0) continue;
    out.push('', `${title}:`);
    const groups = groupChanges(list);
    for (const g of groups.slice(0, GROUPS_MAX)) {
      out.push(`  ${g.fromNs} -> ${g.toNs}: ${g.flows.length} flows, decided by ${g.because}`);
      for (const c of g.flows.slice(0, 5)) out.push(`      ${flowText(c)}`);
      if (g.flows.length > 5) out.push(`      ...${g.flows.length - 5} more`);
    }
    if (groups.length > GROUPS_MAX)
      out.push(`  ${groups.length - GROUPS_MAX} more groups: -o json lists every flow.`);
  }
  if (summary.addedPods.length > 0) out.push('', `Pods only in the head: ${summary.addedPods.join(', ')}`);
  if (summary.removedPods.length > 0)
    out.push('', `Pods only in the base: ${summary.removedPods.join(', ')}`);
  return out.join('\n');
}
