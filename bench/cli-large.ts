// The CLI end to end on one large input, as a user runs it: `netaudit analyze -f FILE` (process
// start, read, engine, output written to a file), several times, each run's wall time, CPU time and
// peak RSS from /usr/bin/time, with the machine's load average before each run. With --against, an
// older checkout runs the same command in alternation (a/b, a/b, ...), so both meet the same minutes
// of a shared machine; the outputs of the two are compared byte for byte.
//
//   node bench/cli-large.ts --file /tmp/x/list-antrea.json [--runs 12] [--against DIR]
//        [--mode table|classes] [--out bench/cli-large-results.json]
//
// The 1.3 GB kubectl List comes from `node bench/read-large.ts --cases list --keep --dir /tmp/x`.
// Run it at normal priority: under `chrt -f` (SCHED_FIFO) the reading thread, the main thread and
// V8's GC helpers are not time-sliced against each other on two cores, and runs spread far more.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    file: { type: 'string' },
    runs: { type: 'string', default: '12' },
    against: { type: 'string' },
    mode: { type: 'string', default: 'table' },
    out: { type: 'string' },
  },
});
if (!args.file) throw new Error('usage: node bench/cli-large.ts --file FILE [--runs N] [--against DIR]');
if (!existsSync('/usr/bin/time')) throw new Error('needs /usr/bin/time (Debian package "time")');
const file = resolve(args.file);
const runs = Number(args.runs);
const modeArgs = args.mode === 'classes' ? ['--classes', '-o', 'json'] : [];

interface Run {
  readonly build: string;
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly peakRssMiB: number;
  readonly load1: number;
  readonly exit: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'netaudit-cli-large-'));

function once(build: string, root: string): Run {
  const load1 = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const out = join(scratch, `${build}.out`);
  const r = spawnSync(
    'sh',
    [
      '-c',
      `exec /usr/bin/time -f '%e %U %S %M' "$0" analyze -f "$1" "$@" > "${out}"`,
      join(root, 'bin/netaudit'),
      file,
      ...modeArgs,
    ],
    { encoding: 'utf8', env: { ...process.env, CI: 'true' } },
  );
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  const [wall, user, sys, rssKb] = last.split(' ').map(Number);
  if (wall === undefined || Number.isNaN(wall))
    throw new Error(`${build}: no timing in: ${r.stderr.slice(-500)}`);
  return {
    build,
    wallS: wall,
    userS: user ?? Number.NaN,
    sysS: sys ?? Number.NaN,
    peakRssMiB: Math.round((rssKb ?? 0) / 1024),
    load1,
    exit: r.status ?? -1,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const builds: [string, string][] = [['head', resolve('.')]];
if (args.against) builds.push(['against', resolve(args.against)]);
const all: Run[] = [];
try {
  for (let i = 0; i < runs; i++) {
    for (const [name, root] of i % 2 === 0 ? builds : [...builds].reverse()) {
      const r = once(name, root);
      all.push(r);
      console.log(
        `${name.padEnd(8)} ${r.wallS.toFixed(2)} s  user ${r.userS.toFixed(2)} s  ${r.peakRssMiB} MiB  load ${r.load1}  exit ${r.exit}`,
      );
    }
  }
  const same =
    builds.length === 2
      ? readFileSync(join(scratch, 'head.out')).equals(readFileSync(join(scratch, 'against.out')))
      : undefined;
  const summary = builds.map(([name]) => {
    const mine = all.filter((r) => r.build === name);
    return {
      build: name,
      runs: mine.length,
      medianWallS: median(mine.map((r) => r.wallS)),
      minWallS: Math.min(...mine.map((r) => r.wallS)),
      maxWallS: Math.max(...mine.map((r) => r.wallS)),
      under10s: mine.filter((r) => r.wallS < 10).length,
      maxPeakRssMiB: Math.max(...mine.map((r) => r.peakRssMiB)),
    };
  });
  for (const s of summary)
    console.log(
      `${s.build}: median ${s.medianWallS.toFixed(2)} s (${s.minWallS.toFixed(2)}-${s.maxWallS.toFixed(2)}), ${s.under10s}/${s.runs} under 10 s, peak RSS up to ${s.maxPeakRssMiB} MiB`,
    );
  if (same !== undefined) console.log(same ? 'outputs identical' : 'OUTPUTS DIFFER');
  if (args.out)
    writeFileSync(
      args.out,
      `${JSON.stringify({ file, mode: args.mode, cores: cpus().length, node: process.version, when: new Date().toISOString(), summary, outputsIdentical: same, runs: all }, null, 2)}\n`,
    );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
