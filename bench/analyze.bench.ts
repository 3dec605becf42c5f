// The analysis benchmark: what a user runs, end to end. Run:
//   source scripts/node-env.sh; node --expose-gc bench/analyze.bench.ts [--sizes 1k,10k,antrea]
//
// Per size, the synthetic cluster is written once as one JSON `List` (not timed), then the CLI runs
// as a child process, as a user runs it, in each mode: the default table (a summary past a
// screenful), `--classes -o json` (the factored form), `-o json` (per-pod verdicts, or the refusal
// with exit 2 past --max-verdicts), `--from` and `--to` one pod. Wall time from spawn to exit and
// peak RSS (VmHWM) per run, the median of --runs. Beside it, in the same run: `netaudit --version`
// (process start alone), the naive pod-pair evaluation (evaluate() per pod pair and port, sampled and
// extrapolated), the peer tool cyclonus where it copes (bench/peers), and, in process, incremental
// updates and a controller round's planning on the engine.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type PlanInput, planRound, scopeClasses } from '../src/audit/plan.ts';
import { rotate } from '../src/audit/rotation.ts';
import type { Namespace, NetworkPolicy, Pod } from '../src/core/k8s.ts';
import { type Destination, ExpectationEngine } from '../src/expect/engine.ts';
import { evaluate } from '../src/policy/evaluate.ts';
import { PROFILES } from '../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../src/policy/snapshot.ts';
import type { PodInfo } from '../src/policy/types.ts';
import { referenceDefaultPorts } from '../test/support/reference-ports.ts';
import { distribution, fmtInt, fmtMs, forceGc, round, table, timed } from './measure.ts';
import { generateCluster, parseShape, Rng, type SyntheticCluster } from './synthetic.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1k,10k,50k,antrea' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    'timeout-s': { type: 'string', default: '300' },
    'naive-samples': { type: 'string', default: '200000' },
    'incremental-at': { type: 'string', default: '10k' },
    'incremental-repeats': { type: 'string', default: '100' },
    'planning-at': { type: 'string', default: '10k,50k' },
    'peer-sizes': { type: 'string', default: '200,1k' },
    dir: { type: 'string', default: '/tmp/netaudit-bench' },
    out: { type: 'string', default: 'bench/results-analyze.json' },
    'no-naive': { type: 'boolean', default: false },
    'no-peer': { type: 'boolean', default: false },
  },
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin/netaudit');
const SEED = Number(args.seed);
const RUNS = Number(args.runs);
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
const PROFILE = PROFILES.generic;

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

interface CliRun {
  readonly mode: string;
  readonly exit: number | null;
  readonly wallMs: number;
  readonly peakRssMiB: number;
  readonly outputBytes: number;
  readonly timedOut: boolean;
}

/** Peak RSS of a running process, read before it exits (VmHWM only grows). */
function hwmMiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Runs the CLI as a user does; stdout goes to a file (written output counts). */
function runCli(mode: string, argv: readonly string[], outFile: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const started = performance.now();
    const out = `${outFile}.out`;
    const child = spawn('sh', ['-c', `exec "$0" "$@" > "${out}"`, CLI, ...argv], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CI: 'true' },
    });
    let peak = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString();
    });
    const poll = setInterval(() => {
      if (child.pid !== undefined) peak = Math.max(peak, hwmMiB(child.pid) ?? 0);
    }, 20);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const outputBytes = existsSync(out) ? statSync(out).size : 0;
      rmSync(out, { force: true });
      if (code !== 0 && code !== 2) log(`   ${mode}: exit ${code}: ${stderr.slice(0, 300)}`);
      resolve({ mode, exit: code, wallMs, peakRssMiB: round(peak, 0), outputBytes, timedOut });
    });
  });
}

async function medianRun(mode: string, argv: readonly string[], outFile: string): Promise<CliRun> {
  const runs: CliRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runCli(mode, argv, outFile);
    runs.push(r);
    if (r.timedOut || r.wallMs > 60_000) break;
  }
  runs.sort((a, b) => a.wallMs - b.wallMs);
  return runs[Math.floor((runs.length - 1) / 2)] as CliRun;
}

function writeList(cluster: SyntheticCluster, file: string): void {
  const items = [
    ...cluster.namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', ...n })),
    ...cluster.pods.map((p) => ({ apiVersion: 'v1', kind: 'Pod', ...p })),
    ...cluster.policies.map((p) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...p })),
  ];
  // Written item by item: the whole List can be longer than a string may be.
  const parts: string[] = ['{"apiVersion":"v1","kind":"List","items":['];
  items.forEach((item, i) => {
    parts.push(`${i === 0 ? '' : ','}${JSON.stringify(item)}`);
  });
  parts.push(']}');
  writeFileSync(file, parts.join(''));
}

interface NaiveResult {
  readonly samples: number;
  readonly perEvalUs: number;
  readonly cells: number;
  readonly estimatedMs: number;
  readonly how: string;
}

/** evaluate() per pod pair and port, as a tool without classes does it: sampled, then extrapolated. */
function naive(cluster: SyntheticCluster, samples: number): NaiveResult {
  const { snapshot } = buildSnapshot(cluster, PROFILE);
  const ctx = evalContext(snapshot);
  const all = [...snapshot.policies.values()].flat();
  const pods = snapshot.pods;
  const rng = new Rng(SEED + 13);
  const destinations = Array.from(
    { length: Math.min(pods.length, 500) },
    () => pods[rng.int(pods.length)] as PodInfo,
  );
  const ports = timed(() =>
    destinations.map((to) => referenceDefaultPorts(ctx, all, { kind: 'pod', pod: to })),
  );
  const meanPorts = ports.value.reduce((n, p) => n + p.length, 0) / destinations.length;
  let n = 0;
  const t = timed(() => {
    while (n < samples) {
      const from = pods[rng.int(pods.length)] as PodInfo;
      const d = rng.int(destinations.length);
      const to = destinations[d] as PodInfo;
      for (const p of ports.value[d] ?? []) {
        evaluate(ctx, { from, to: { kind: 'pod', pod: to }, ...p });
        n++;
      }
    }
  });
  const cells = pods.length * (pods.length - 1) * meanPorts;
  const perEval = t.ms / n;
  const portDiscovery = (ports.ms / destinations.length) * pods.length;
  return {
    samples: n,
    perEvalUs: round(perEval * 1000, 2),
    cells: Math.round(cells),
    estimatedMs: Math.round(cells * perEval + portDiscovery),
    how: `ESTIMATED: ${fmtInt(n)} sampled evaluate() calls at ${round(perEval * 1000, 2)} us each, times ${fmtInt(Math.round(cells))} pod pairs x ports, plus default-port discovery per pod (${fmtMs((ports.ms / destinations.length) * pods.length)})`,
  };
}

function withOnePolicyEdited(cluster: SyntheticCluster): SyntheticCluster {
  const i = cluster.policies.findIndex((p) => p.spec.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels?.app);
  const np = cluster.policies[i] as NetworkPolicy;
  const rule = np.spec.ingress?.[0];
  const edited: NetworkPolicy = {
    ...np,
    spec: {
      ...np.spec,
      ingress: [
        { ...rule, from: [{ podSelector: { matchLabels: { app: 'edited-in-review' } } }] },
        ...(np.spec.ingress ?? []).slice(1),
      ],
    },
  };
  return { ...cluster, policies: cluster.policies.map((p, j) => (j === i ? edited : p)) };
}

function podWithLabels(pod: Pod, labels: Record<string, string>): Pod {
  return { ...pod, metadata: { ...pod.metadata, labels } };
}

/** In process: each kind of change, repeated, p50 / p99. */
function incremental(cluster: SyntheticCluster, repeats: number): Record<string, unknown> {
  const load = timed(() => ExpectationEngine.from(cluster, PROFILE));
  const engine = load.value;
  const classes = engine.classes();
  const podsByKey = new Map(cluster.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  let mover: { pod: Pod; target: Pod } | undefined;
  for (const a of classes) {
    if (a.members.length < 2) continue;
    const b = classes.find(
      (c) =>
        c !== a &&
        c.namespace === a.namespace &&
        JSON.stringify(c.representative.ports) === JSON.stringify(a.representative.ports),
    );
    const pa = podsByKey.get(a.representative.key);
    const pb = b ? podsByKey.get(b.representative.key) : undefined;
    if (pa && pb) {
      mover = { pod: pa, target: pb };
      break;
    }
  }
  if (!mover) throw new Error('no pod to move between two classes of one namespace');
  const { pod } = mover;
  const original = pod.metadata.labels ?? {};
  const targetLabels = {
    ...(mover.target.metadata.labels ?? {}),
    'pod-template-hash': original['pod-template-hash'] ?? '',
  };
  const out: Record<string, unknown> = { loadMs: round(load.ms, 1), classes: classes.length };
  const measure = (op: string, step: (i: number) => void): void => {
    const samples: number[] = [];
    for (let i = 0; i < repeats; i++) samples.push(timed(() => step(i)).ms);
    const d = distribution(samples);
    out[op] = { p50Ms: round(d.p50Ms, 3), p99Ms: round(d.p99Ms, 3), maxMs: round(d.maxMs, 3), n: d.n };
    log(`   ${op}: p50 ${fmtMs(d.p50Ms)}, p99 ${fmtMs(d.p99Ms)}, max ${fmtMs(d.maxMs)}`);
  };
  measure('pod into an existing class', (i) =>
    engine.upsertPod(podWithLabels(pod, i % 2 === 0 ? targetLabels : original)),
  );
  engine.upsertPod(pod);
  measure('pod into a new class', (i) => {
    engine.upsertPod(podWithLabels(pod, { ...original, app: `canary-${i}` }));
    engine.upsertPod(pod);
  });
  const ns = cluster.namespaces.find((x) => x.metadata.name === pod.metadata.namespace) as Namespace;
  const nsLabels = ns.metadata.labels ?? {};
  measure('namespace relabelled', (i) =>
    engine.upsertNamespace({
      ...ns,
      metadata: {
        ...ns.metadata,
        labels: { ...nsLabels, team: i % 2 === 0 ? 'team-0' : (nsLabels.team ?? '') },
      },
    }),
  );
  engine.upsertNamespace(ns);
  const np =
    cluster.policies.find(
      (p) =>
        p.metadata.namespace === ns.metadata.name &&
        p.spec.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels?.app,
    ) ??
    (cluster.policies.find(
      (p) => p.spec.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels?.app,
    ) as NetworkPolicy);
  const apps = classes
    .filter((c) => c.namespace === np.metadata.namespace)
    .map((c) => c.representative.labels.app ?? '');
  const edited = (app: string): NetworkPolicy => {
    const rule = np.spec.ingress?.[0];
    const peer = rule?.from?.[0];
    return {
      ...np,
      spec: {
        ...np.spec,
        ingress: [
          { ...rule, from: [{ ...peer, podSelector: { matchLabels: { app } } }] },
          ...(np.spec.ingress ?? []).slice(1),
        ],
      },
    };
  };
  measure('policy changed (peer selector edited)', (i) =>
    engine.upsertPolicy(edited(apps[i % apps.length] ?? 'web')),
  );
  engine.upsertPolicy(np);
  return out;
}

/** A controller round's planning on a built engine: classes, destinations, ports, the plan. */
function planning(cluster: SyntheticCluster): Record<string, unknown> {
  const load = timed(() => ExpectationEngine.from(cluster, PROFILE));
  const engine = load.value;
  const nodes = ['node-1', 'node-2', 'node-3'];
  const rounds: number[] = [];
  for (let i = 0; i < 5; i++) {
    rounds.push(
      timed(() => {
        const classes = engine.classes();
        const input: PlanInput = {
          classes,
          projection: engine.projection,
          nodes,
          portsOf: (cls) => engine.portsOf(engine.destinationOf(cls.id) as Destination),
          guards: [],
          namespaces: [],
          reservedLabelPrefix: 'netaudit.io/',
        };
        const rotation = rotate({
          nodes,
          classes: scopeClasses(input).scoped.map((s) => ({
            id: s.cls.id,
            namespace: s.cls.namespace,
            podsPerNode: 2,
          })),
          maxProbePods: 400,
          canaryNamespace: undefined,
          cursor: i,
        });
        planRound(input, rotation.assignment);
      }).ms,
    );
  }
  const d = distribution(rounds);
  forceGc();
  return {
    engineLoadMs: round(load.ms, 0),
    planningP50Ms: round(d.p50Ms, 1),
    planningMaxMs: round(d.maxMs, 1),
    rssMiB: round(process.memoryUsage().rss / 2 ** 20, 0),
    classes: engine.classes().length,
  };
}

async function peer(cluster: SyntheticCluster, dir: string): Promise<unknown> {
  const module = join(ROOT, 'bench/peers/cyclonus.ts');
  if (!existsSync(module)) return { ok: false, reason: 'bench/peers/cyclonus.ts not present' };
  const { runCyclonus } = (await import(module)) as {
    runCyclonus: (c: SyntheticCluster, o: { workDir: string; timeoutMs: number }) => Promise<unknown>;
  };
  return runCyclonus(cluster, { workDir: dir, timeoutMs: TIMEOUT_MS });
}

async function main(): Promise<void> {
  mkdirSync(args.dir, { recursive: true });
  const results: Record<string, unknown>[] = [];
  const start = await medianRun('netaudit --version', ['--version'], join(args.dir, 'version'));
  log(`process start (netaudit --version): ${fmtMs(start.wallMs)}, ${start.peakRssMiB} MiB`);
  const peerSizes = new Set(args['peer-sizes'].split(','));
  for (const size of args.sizes.split(',')) {
    const shape = parseShape(size);
    const cluster = generateCluster(shape, SEED);
    const file = join(args.dir, `cluster-${size}.json`);
    if (!existsSync(file)) writeList(cluster, file);
    const inputMiB = round(statSync(file).size / 2 ** 20, 1);
    log(
      `\n== ${size}: ${fmtInt(shape.pods)} pods, ${fmtInt(shape.policies)} policies, ${fmtInt(shape.namespaces)} namespaces (${inputMiB} MiB of JSON)`,
    );
    // The same cluster with one policy edited (its first ingress rule's peer): the size of a typical
    // pull request, for `analyze --base`.
    const headFile = join(args.dir, `cluster-${size}-edited.json`);
    if (!existsSync(headFile)) writeList(withOnePolicyEdited(cluster), headFile);
    const someNs = cluster.pods[Math.floor(cluster.pods.length / 2)] as Pod;
    const podRef = `${someNs.metadata.namespace}/${someNs.metadata.name}`;
    const modes: [string, string[]][] = [
      ['table (summary)', ['analyze', '-f', file]],
      ['--classes -o json (factored)', ['analyze', '-f', file, '--classes', '-o', 'json']],
      ['-o json (per pod)', ['analyze', '-f', file, '-o', 'json']],
      ['--from one pod', ['analyze', '-f', file, '--from', podRef]],
      ['--to one pod', ['analyze', '-f', file, '--to', podRef]],
      ['--base, one policy edited', ['analyze', '-f', headFile, '--base', file, '-o', 'json']],
    ];
    const cli: CliRun[] = [];
    for (const [mode, argv] of modes) {
      const r = await medianRun(mode, argv, join(args.dir, `out-${size}`));
      cli.push(r);
      log(
        `   ${mode}: ${fmtMs(r.wallMs)}, ${r.peakRssMiB} MiB, exit ${r.exit}${r.timedOut ? ' (TIMED OUT)' : ''}, ${fmtInt(r.outputBytes)} bytes out`,
      );
    }
    const entry: Record<string, unknown> = {
      size,
      shape,
      inputMiB,
      cli: cli.map((r) => ({ ...r, wallMs: round(r.wallMs, 0) })),
    };
    if (!args['no-naive']) {
      forceGc();
      const n = naive(cluster, Number(args['naive-samples']));
      entry.naive = n;
      log(`   naive pod pairs: ${fmtMs(n.estimatedMs)} (${n.how})`);
    }
    if (!args['no-peer'] && peerSizes.has(size)) {
      const p = await peer(cluster, join(args.dir, `cyclonus-${size}`));
      entry.cyclonus = p;
      log(`   cyclonus: ${JSON.stringify(p)}`);
    }
    if (args['incremental-at'].split(',').includes(size)) {
      log(`   incremental updates (in process, ${args['incremental-repeats']} each):`);
      entry.incremental = incremental(cluster, Number(args['incremental-repeats']));
    }
    if (args['planning-at'].split(',').includes(size)) {
      entry.planning = planning(cluster);
      log(`   controller round planning: ${JSON.stringify(entry.planning)}`);
    }
    results.push(entry);
  }
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memoryGiB: round(totalmem() / 2 ** 30, 0),
    node: process.version,
    loadAverageAtEnd: round(loadavg()[0] ?? 0, 2),
  };
  writeFileSync(args.out, `${JSON.stringify({ machine, processStart: start, results }, null, 2)}\n`);
  log(
    `\n${table([['size', 'mode', 'wall', 'peak RSS', 'exit'], ...results.flatMap((r) => (r.cli as CliRun[]).map((c) => [String(r.size), c.mode, fmtMs(c.wallMs), `${c.peakRssMiB} MiB`, String(c.exit)]))])}`,
  );
  log(`results in ${args.out}`);
}

await main();
