// Top functions of a V8 CPU profile (`node --cpu-prof`), by self time and by total time.
// Run: node bench/profile-summary.ts PROFILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import { table } from './measure.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topText] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-summary.ts PROFILE.cpuprofile [TOP]');
const top = Number(topText ?? 20);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function nameOf(n: ProfileNode): string {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/work\/main\//, '')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

// Every sample counts the sampling interval (the median gap), not the gap before it: when the
// profiler's thread is starved (a loaded machine, a real-time neighbour), one long gap would land
// whole on whatever function happened to run next.
const gaps = [...profile.timeDeltas].filter((d) => d > 0).sort((x, y) => x - y);
const interval = gaps[Math.floor(gaps.length / 2)] ?? 0;
const wallUs = profile.timeDeltas.reduce((sum, d) => sum + Math.max(0, d), 0);
const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
profile.samples.forEach((id) => {
  const dt = interval;
  all += dt;
  const node = byId.get(id);
  if (!node) return;
  const key = nameOf(node);
  self.set(key, (self.get(key) ?? 0) + dt);
  // Total time: once per distinct function on the stack (recursion counted once).
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const n = byId.get(at);
    if (!n) break;
    const k = nameOf(n);
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + dt);
  }
});

function render(title: string, m: Map<string, number>): string {
  const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return `${title} (of ${(all / 1000).toFixed(0)} ms sampled: samples x interval)\n${table([
    ['function', 'ms', '%'],
    ...rows.map(([k, us]) => [k, (us / 1000).toFixed(0), ((100 * us) / all).toFixed(1)]),
  ])}`;
}

process.stdout.write(
  `${profile.samples.length} samples every ${interval} us (median); the profile spans ${(wallUs / 1000).toFixed(0)} ms\n\n` +
    `${render('self time', self)}\n\n${render('total time', total)}\n`,
);
