// The engine benchmark (issue 3, point 8). Run: node --expose-gc bench/engine.bench.ts [--sizes 1k,10k]
//
// Per size: snapshot + compile, partition into classes, per-class policy selection, destinations and
// their ports, the full class matrix (computeMatrix), peak memory; then the naive pod-pair evaluation
// (evaluate() for every pod pair and port) in the same run, sampled and extrapolated when there are
// too many pairs. At 10k pods, incremental updates through IncrementalEngine.
//
// A phase whose estimated cost is over the budget (or whose class matrix would not fit in memory) is
// not run: its estimate is reported instead, with how it was obtained. Every estimate says so.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { classesOf, type PodClass } from '../src/model/classes.ts';
import { buildSnapshot, type ClusterSnapshot, evalContext } from '../src/model/cluster.ts';
import { IncrementalEngine } from '../src/model/engine.ts';
import type { Namespace, NetworkPolicy, Pod } from '../src/model/k8s.ts';
import {
  ClassEvaluator,
  type ClassMatrix,
  computeMatrix,
  type Destination,
  defaultPortsFor,
  destinationsOf,
  type PortSpec,
  verdictSignature,
} from '../src/model/matrix.ts';
import { ipBlockContains } from '../src/policy/cidr.ts';
import { type EvalContext, evaluate } from '../src/policy/evaluate.ts';
import { selectorMatches } from '../src/policy/labels.ts';
import { PROFILES } from '../src/policy/profiles.ts';
import type { CompiledPolicy, Endpoint, PeerMatcher, PodInfo } from '../src/policy/types.ts';
import {
  type Distribution,
  distribution,
  fmtInt,
  fmtMs,
  forceGc,
  hasGc,
  MemoryWatch,
  MiB,
  now,
  round,
  table,
  timed,
} from './measure.ts';
import { type ClusterShape, generateCluster, parseShape, Rng, type SyntheticCluster } from './synthetic.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1k,10k,50k,100k,antrea' },
    seed: { type: 'string', default: '1' },
    profile: { type: 'string', default: 'generic' },
    'naive-pairs': { type: 'string', default: '1000000' },
    'naive-destinations': { type: 'string', default: '2000' },
    'budget-s': { type: 'string', default: '240' },
    'max-matrix-mib': { type: 'string', default: '1536' },
    'incremental-at': { type: 'string', default: '10k' },
    'incremental-repeats': { type: 'string', default: '100' },
    'incremental-budget-s': { type: 'string', default: '90' },
    'no-naive': { type: 'boolean', default: false },
    'no-incremental': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results.json' },
    'in-process': { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
    'per-cell-ns': { type: 'string' },
    merge: { type: 'string' },
  },
});

const SEED = Number(args.seed);
const PROFILE_NAME = args.profile as keyof typeof PROFILES;
const PROFILE = PROFILES[PROFILE_NAME];
if (!PROFILE) throw new Error(`--profile ${args.profile}: not a profile`);
const NAIVE_PAIRS = Number(args['naive-pairs']);
const NAIVE_DESTINATIONS = Number(args['naive-destinations']);
const BUDGET_MS = Number(args['budget-s']) * 1000;
const MAX_MATRIX_BYTES = Number(args['max-matrix-mib']) * MiB;
const INCREMENTAL_REPEATS = Number(args['incremental-repeats']);
const INCREMENTAL_BUDGET_MS = Number(args['incremental-budget-s']) * 1000;

/** A measured value, or an estimate that says how it was obtained. */
interface Timing {
  readonly ms: number;
  readonly estimated: boolean;
  readonly how?: string;
}

function measured(ms: number): Timing {
  return { ms: round(ms, 2), estimated: false };
}

function estimated(ms: number, how: string): Timing {
  return { ms: round(ms, 1), estimated: true, how };
}

interface NaiveResult {
  readonly allPairs: number;
  readonly pairsEvaluated: number;
  readonly evaluations: number;
  readonly sampled: boolean;
  readonly evaluationMs: number;
  readonly perEvaluationUs: number;
  readonly totalEvaluations: number;
  /** Default ports of each destination pod, found per pod (defaultPortsFor), as a naive tool would. */
  readonly portDiscovery: Timing;
  readonly total: Timing;
  readonly agreement: { readonly checked: number; readonly mismatches: number; readonly against: string };
}

interface IncrementalResult {
  readonly size: string;
  readonly load: { readonly start: number; readonly end: number };
  readonly loadMs: number;
  readonly classes: number;
  readonly operations: Record<
    string,
    Distribution & {
      readonly verdictsChangedMean: number;
      readonly note: string;
      /** The first repeat: caches cold (e.g. the engine's per-destination port lists). */
      readonly firstMs?: number;
      /** p99 without the first repeat. */
      readonly p99WarmMs?: number;
    }
  >;
  readonly naiveRecomputeMs: number;
  readonly naiveRecomputeHow: string;
}

interface SizeResult {
  readonly size: string;
  readonly shape: ClusterShape;
  /** 1-minute load average when the size started and ended (2 cores: above 2, something else ran). */
  readonly load: { readonly start: number; readonly end: number };
  readonly generated: { readonly pods: number; readonly namespaces: number; readonly policies: number };
  readonly generateMs: number;
  readonly snapshot: { readonly ms: number; readonly errors: number; readonly warnings: number };
  readonly classes: {
    readonly ms: number;
    readonly count: number;
    readonly largest: number;
    readonly singletons: number;
    readonly projectionLabelKeys: number;
  };
  readonly selection: Timing;
  readonly destinations: Timing & { readonly meanPorts: number; readonly cells: number };
  readonly peerFlags: Timing & { readonly peers: number; readonly bytes: number };
  readonly rowSample?: {
    readonly rows: number;
    readonly warmupMs: number;
    readonly perRowMs: number;
    readonly perCellNs: number;
  };
  readonly matrix: Timing & {
    readonly cells: number;
    readonly distinctVerdicts?: number;
    readonly bytes: number;
    readonly skipped?: string;
  };
  /** snapshot + classes + computeMatrix: what `netaudit analyze` pays before output. */
  readonly pipeline: Timing;
  readonly memory: {
    readonly pipelinePeakRssMiB: number;
    readonly pipelinePeakHeapUsedMiB: number;
    readonly phases: MemoryWatch['phases'];
    readonly complete: boolean;
  };
  readonly naive?: NaiveResult;
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Every peer of every rule: what the class evaluator turns into one flag per class. */
function allPeers(policies: readonly CompiledPolicy[]): { policy: CompiledPolicy; peer: PeerMatcher }[] {
  const out: { policy: CompiledPolicy; peer: PeerMatcher }[] = [];
  for (const policy of policies) {
    for (const rule of [...policy.ingress, ...policy.egress]) {
      if (rule.peers.kind === 'peers') for (const peer of rule.peers.peers) out.push({ policy, peer });
    }
  }
  return out;
}

/** The same work as ClassEvaluator's per-peer flags (private there), to estimate its cost at scale. */
function peerFlagsOf(
  ctx: EvalContext,
  classes: readonly PodClass[],
  policy: CompiledPolicy,
  peer: PeerMatcher,
): Uint8Array {
  const f = new Uint8Array(classes.length);
  const nsCache = new Map<string, boolean>();
  for (let i = 0; i < classes.length; i++) {
    const cls = classes[i] as PodClass;
    const pod = cls.representative;
    switch (peer.kind) {
      case 'pods-in-policy-namespace':
        f[i] = cls.namespace === policy.ref.namespace && selectorMatches(peer.pods, pod.labels) ? 1 : 0;
        break;
      case 'pods-in-namespaces': {
        let ns = nsCache.get(cls.namespace);
        if (ns === undefined) {
          ns = selectorMatches(peer.namespaces, ctx.namespaceLabels(cls.namespace));
          nsCache.set(cls.namespace, ns);
        }
        f[i] = ns && selectorMatches(peer.pods, pod.labels) ? 1 : 0;
        break;
      }
      case 'ip-block':
        f[i] =
          ctx.profile.ipBlockMatchesPodIPs.value && pod.ips.some((ip) => ipBlockContains(peer.block, ip))
            ? 1
            : 0;
        break;
    }
  }
  return f;
}

function evenlySpaced<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor((i * items.length) / n)] as T);
  return out;
}

function runSize(name: string, shape: ClusterShape, perCellNsSeen: number | undefined): SizeResult {
  forceGc();
  const loadStart = round(loadavg()[0] ?? 0, 2);
  const mem = new MemoryWatch();
  log(
    `\n== ${name}: ${fmtInt(shape.pods)} pods, ${fmtInt(shape.namespaces)} namespaces, ${fmtInt(shape.policies)} policies`,
  );
  const gen = timed(() => generateCluster(shape, SEED));
  const cluster = gen.value;
  log(`   generated in ${fmtMs(gen.ms)} (not counted)`);
  mem.mark('generate');

  const snap = timed(() => buildSnapshot(cluster, PROFILE));
  const { snapshot } = snap.value;
  const errors = snap.value.issues.filter((i) => i.severity === 'error').length;
  const warnings = snap.value.issues.length - errors;
  const ctx = evalContext(snapshot);
  const cls = timed(() => classesOf(snapshot));
  const classes = cls.value.classes;
  const allPolicies = [...snapshot.policies.values()].flat();
  const sizes = classes.map((c) => c.members.length);
  log(
    `   snapshot+compile ${fmtMs(snap.ms)} (${errors} errors, ${warnings} warnings); partition ${fmtMs(cls.ms)}: ${fmtInt(classes.length)} classes`,
  );
  mem.mark('snapshot+classes');

  // Per-class selection: the ClassEvaluator constructor runs policiesSelecting for every class.
  const sel = timed(() => new ClassEvaluator(ctx, classes));
  let evaluator: ClassEvaluator | undefined = sel.value;
  log(`   per-class selection ${fmtMs(sel.ms)}`);

  // Destinations and their default ports: defaultPortsFor per class reads every egress rule.
  const probe = evenlySpaced(classes, 200);
  const probeT = timed(() =>
    probe.map((c) => defaultPortsFor(ctx, allPolicies, { kind: 'pod', pod: c.representative }).length),
  );
  const destEstimate = (probeT.ms / Math.max(1, probe.length)) * classes.length;
  let destinations: Destination[] | undefined;
  let destinationsTiming: Timing;
  let meanPorts: number;
  if (destEstimate <= BUDGET_MS) {
    const d = timed(() => destinationsOf(ctx, classes, allPolicies, {}));
    destinations = d.value;
    destinationsTiming = measured(d.ms);
    meanPorts = destinations.reduce((s, x) => s + x.ports.length, 0) / Math.max(1, destinations.length);
  } else {
    destinationsTiming = estimated(
      destEstimate,
      `defaultPortsFor timed on ${probe.length} classes, times ${classes.length} classes`,
    );
    meanPorts = probeT.value.reduce((s, x) => s + x, 0) / Math.max(1, probeT.value.length);
  }
  const cells = destinations
    ? classes.length * destinations.reduce((s, x) => s + x.ports.length, 0)
    : Math.round(classes.length * classes.length * meanPorts);
  const matrixBytes = cells * 4;
  log(
    `   destinations ${fmtMs(destinationsTiming.ms)}${destinationsTiming.estimated ? ' (ESTIMATED)' : ''}; ${meanPorts.toFixed(2)} ports per destination; ${fmtInt(cells)} cells = ${fmtInt(matrixBytes / MiB)} MiB of Uint32`,
  );

  // Peer flags: one Uint8Array(classes) per peer, filled on first use.
  const peers = allPeers(allPolicies);
  const flagProbe = evenlySpaced(peers, 300);
  const flagT = timed(() => {
    let ones = 0;
    for (const { policy, peer } of flagProbe)
      ones += peerFlagsOf(ctx, classes, policy, peer).reduce((s, x) => s + x, 0);
    return ones;
  });
  const flagsMs = (flagT.ms / Math.max(1, flagProbe.length)) * peers.length;
  const flagBytes = peers.length * classes.length;
  const peerFlags = {
    ...estimated(
      flagsMs,
      `same work as ClassEvaluator.flags timed on ${flagProbe.length} of ${peers.length} peers`,
    ),
    peers: peers.length,
    bytes: flagBytes,
  };
  log(
    `   peer flags: ${fmtInt(peers.length)} peers x ${fmtInt(classes.length)} classes = ${fmtInt(flagBytes / MiB)} MiB, ~${fmtMs(flagsMs)} (estimated)`,
  );

  // Sampled rows of the matrix: a warm-up row (fills the ingress peer flags), then timed rows.
  let rowSample: SizeResult['rowSample'];
  let matrixEstimate: Timing | undefined;
  const rowsFeasible =
    destinations !== undefined && flagsMs <= BUDGET_MS && flagBytes <= MAX_MATRIX_BYTES && classes.length > 0;
  if (rowsFeasible && destinations && evaluator) {
    const rng = new Rng(SEED + 7);
    const ev = evaluator;
    const dsts = destinations;
    const fillRow = (s: number): number => {
      let n = 0;
      for (const dst of dsts) {
        for (const p of dst.ports) {
          ev.evaluate(s, dst, p.port, p.protocol);
          n++;
        }
      }
      return n;
    };
    const warm = timed(() => fillRow(rng.int(classes.length)));
    const rows = Math.min(classes.length, 12);
    const t = timed(() => {
      let n = 0;
      for (let i = 0; i < rows; i++) n += fillRow(rng.int(classes.length));
      return n;
    });
    const perRowMs = t.ms / rows;
    rowSample = {
      rows,
      warmupMs: round(warm.ms, 1),
      perRowMs: round(perRowMs, 3),
      perCellNs: round((t.ms * 1e6) / Math.max(1, t.value), 1),
    };
    matrixEstimate = estimated(
      sel.ms + destinationsTiming.ms + warm.ms + perRowMs * (classes.length - 1),
      `selection + destinations + warm-up row + ${rows} timed rows x ${classes.length} classes`,
    );
    log(
      `   sampled rows: warm-up ${fmtMs(warm.ms)}, ${fmtMs(perRowMs)} per row (${rowSample.perCellNs} ns/cell) -> matrix ~${fmtMs(matrixEstimate.ms)} (estimated)`,
    );
  } else {
    const perCell = perCellNsSeen ?? Number.NaN;
    matrixEstimate = estimated(
      sel.ms + destinationsTiming.ms + flagsMs + (cells * perCell) / 1e6,
      `no row sampled (peer flags ${fmtInt(flagBytes / MiB)} MiB / ~${fmtMs(flagsMs)}): selection + destinations + peer flags + ${fmtInt(cells)} cells x ${perCell} ns/cell measured at a smaller size`,
    );
    log(`   rows not sampled; matrix ~${fmtMs(matrixEstimate.ms)} (ESTIMATED: ${matrixEstimate.how})`);
  }
  mem.mark('estimates');

  // The full class matrix, when it fits.
  let matrix: ClassMatrix | undefined;
  let matrixResult: SizeResult['matrix'];
  let skipped: string | undefined;
  if (matrixBytes > MAX_MATRIX_BYTES) {
    skipped = `${fmtInt(cells)} cells need ${fmtInt(matrixBytes / MiB)} MiB for the cell array alone (limit --max-matrix-mib ${MAX_MATRIX_BYTES / MiB})`;
  } else if (matrixEstimate.ms > BUDGET_MS) {
    skipped = `estimated ${fmtMs(matrixEstimate.ms)} is over the budget (--budget-s ${BUDGET_MS / 1000})`;
  }
  if (skipped === undefined) {
    evaluator = undefined; // let the sampling caches go before the real run
    forceGc();
    mem.mark('before-matrix');
    const m = timed(() => computeMatrix(ctx, classes, allPolicies));
    matrix = m.value;
    matrixResult = {
      ...measured(m.ms),
      cells: matrix.size,
      distinctVerdicts: matrix.distinctVerdicts,
      bytes: matrix.size * 4,
    };
    log(
      `   computeMatrix ${fmtMs(m.ms)}: ${fmtInt(matrix.size)} cells, ${fmtInt(matrix.distinctVerdicts)} distinct verdicts`,
    );
  } else {
    matrixResult = { ...matrixEstimate, cells, bytes: matrixBytes, skipped };
    log(`   computeMatrix NOT RUN: ${skipped}`);
  }
  mem.mark('matrix');
  const pipelineMs = snap.ms + cls.ms + matrixResult.ms;
  const pipeline: Timing = matrixResult.estimated
    ? estimated(pipelineMs, 'measured snapshot + partition + ESTIMATED matrix')
    : measured(pipelineMs);
  // Without a matrix, the 'matrix' phase only holds the estimation caches: the pipeline is snapshot + classes.
  const peak = mem.peakOf(matrix ? ['snapshot+classes', 'matrix'] : ['snapshot+classes']);
  log(
    `   pipeline (snapshot + partition + matrix) ${fmtMs(pipeline.ms)}${pipeline.estimated ? ' (ESTIMATED)' : ''}; peak RSS ${peak.peakRssMiB} MiB${matrix ? '' : ' (without the matrix)'}`,
  );

  const naive = args['no-naive']
    ? undefined
    : runNaive(ctx, snapshot, allPolicies, classes, destinations, matrix, evaluator);
  mem.mark('naive');

  const loadEnd = round(loadavg()[0] ?? 0, 2);
  log(`   load average (1 min): ${loadStart} at start, ${loadEnd} at end`);
  return {
    size: name,
    shape,
    load: { start: loadStart, end: loadEnd },
    generated: {
      pods: cluster.pods.length,
      namespaces: cluster.namespaces.length,
      policies: cluster.policies.length,
    },
    generateMs: round(gen.ms, 1),
    snapshot: { ms: round(snap.ms, 2), errors, warnings },
    classes: {
      ms: round(cls.ms, 2),
      count: classes.length,
      largest: Math.max(0, ...sizes),
      singletons: sizes.filter((s) => s === 1).length,
      projectionLabelKeys: cls.value.projection.labelKeys.length,
    },
    selection: measured(sel.ms),
    destinations: { ...destinationsTiming, meanPorts: round(meanPorts, 2), cells },
    peerFlags,
    ...(rowSample ? { rowSample } : {}),
    matrix: matrixResult,
    pipeline,
    memory: {
      pipelinePeakRssMiB: peak.peakRssMiB,
      pipelinePeakHeapUsedMiB: peak.peakHeapUsedMiB,
      phases: mem.phases,
      complete: matrix !== undefined,
    },
    ...(naive ? { naive } : {}),
  };
}

/**
 * evaluate() for pod pairs, every default port of the destination. All pairs when they are at most
 * --naive-pairs; otherwise random pairs (sources among all pods, destinations among a pool of
 * --naive-destinations pods), timed, and extrapolated to every pair.
 */
function runNaive(
  ctx: EvalContext,
  snapshot: ClusterSnapshot,
  allPolicies: readonly CompiledPolicy[],
  classes: readonly PodClass[],
  destinations: readonly Destination[] | undefined,
  matrix: ClassMatrix | undefined,
  evaluator: ClassEvaluator | undefined,
): NaiveResult {
  const pods = snapshot.pods;
  const n = pods.length;
  const allPairs = n * (n - 1);
  const exact = allPairs <= NAIVE_PAIRS;
  const rng = new Rng(SEED + 13);
  const pool = exact
    ? [...pods]
    : Array.from({ length: Math.min(n, NAIVE_DESTINATIONS) }, () => pods[rng.int(n)] as PodInfo);

  // Naive port discovery, per destination pod.
  const portsOf = new Map<PodInfo, PortSpec[]>();
  const disc = timed(() => {
    for (const pod of pool) {
      if (!portsOf.has(pod)) portsOf.set(pod, defaultPortsFor(ctx, allPolicies, { kind: 'pod', pod }));
    }
  });
  const discovered = portsOf.size;
  const portDiscovery = exact
    ? measured(disc.ms)
    : estimated((disc.ms / discovered) * n, `defaultPortsFor timed on ${discovered} pods, times ${n} pods`);

  // Pairs to evaluate.
  const pairs: [PodInfo, PodInfo][] = [];
  if (exact) {
    for (const from of pods) for (const to of pods) if (from !== to) pairs.push([from, to]);
  } else {
    while (pairs.length < NAIVE_PAIRS) {
      const from = pods[rng.int(n)] as PodInfo;
      const to = pool[rng.int(pool.length)] as PodInfo;
      if (from !== to) pairs.push([from, to]);
    }
  }
  const targets = new Map<PodInfo, Endpoint>();
  for (const [, to] of pairs) if (!targets.has(to)) targets.set(to, { kind: 'pod', pod: to });
  forceGc();
  let evaluations = 0;
  const start = now();
  for (const [from, to] of pairs) {
    const endpoint = targets.get(to) as Endpoint;
    for (const { port, protocol } of portsOf.get(to) as PortSpec[]) {
      evaluate(ctx, { from, to: endpoint, port, protocol });
      evaluations++;
    }
  }
  const evaluationMs = now() - start;
  const perEval = evaluationMs / Math.max(1, evaluations);

  // Every pair and port: (n - 1) x the sum over destination pods of their port counts.
  let portSum: number;
  if (exact) portSum = pods.reduce((s, p) => s + (portsOf.get(p)?.length ?? 0), 0);
  else if (destinations)
    portSum = classes.reduce((s, c, i) => s + c.members.length * (destinations[i]?.ports.length ?? 0), 0);
  else portSum = ([...portsOf.values()].reduce((s, p) => s + p.length, 0) / Math.max(1, portsOf.size)) * n;
  const totalEvaluations = (n - 1) * portSum;
  const evalTotal = exact ? evaluationMs : perEval * totalEvaluations;
  const total: Timing = exact
    ? measured(portDiscovery.ms + evalTotal)
    : estimated(
        portDiscovery.ms + evalTotal,
        `${fmtInt(evaluations)} evaluations of ${fmtInt(pairs.length)} random pairs timed, times ${fmtInt(totalEvaluations)} evaluations of all ${fmtInt(allPairs)} pairs; plus port discovery`,
      );

  // Agreement: class-based verdicts equal naive ones on a sample of the pairs (not timed).
  const classIndex = new Map<PodInfo, number>();
  classes.forEach((c, i) => {
    for (const m of c.members) classIndex.set(m, i);
  });
  let checked = 0;
  let mismatches = 0;
  const against = matrix ? 'computeMatrix' : evaluator && destinations ? 'ClassEvaluator' : 'nothing';
  if (against !== 'nothing') {
    for (const [from, to] of evenlySpaced(pairs, 3000)) {
      const s = classIndex.get(from) as number;
      const d = classIndex.get(to) as number;
      const dst = destinations?.[d];
      const ports = matrix ? (matrix.destinations[d] as Destination).ports : (dst?.ports ?? []);
      ports.forEach((p, pi) => {
        const naive = verdictSignature(evaluate(ctx, { from, to: { kind: 'pod', pod: to }, ...p }));
        const byClass = matrix
          ? matrix.verdictAt(s, d, pi)
          : (evaluator as ClassEvaluator).evaluate(s, dst as Destination, p.port, p.protocol);
        checked++;
        if (verdictSignature(byClass) !== naive) mismatches++;
      });
    }
  }
  log(
    `   naive: ${fmtInt(evaluations)} evaluations in ${fmtMs(evaluationMs)} (${(perEval * 1000).toFixed(2)} us each); ` +
      `all ${fmtInt(allPairs)} pairs = ${fmtInt(totalEvaluations)} evaluations: ${fmtMs(total.ms)}${total.estimated ? ' (EXTRAPOLATED)' : ''}; ` +
      `agreement with ${against}: ${checked - mismatches}/${checked}`,
  );
  return {
    allPairs,
    pairsEvaluated: pairs.length,
    evaluations,
    sampled: !exact,
    evaluationMs: round(evaluationMs, 1),
    perEvaluationUs: round(perEval * 1000, 3),
    totalEvaluations,
    portDiscovery,
    total,
    agreement: { checked, mismatches, against },
  };
}

// ---- incremental ----

function podWithLabels(pod: Pod, labels: Record<string, string>): Pod {
  return { ...pod, metadata: { ...pod.metadata, labels } };
}

function runIncremental(
  name: string,
  shape: ClusterShape,
  naiveRecompute: SizeResult | undefined,
): IncrementalResult {
  forceGc();
  const loadStart = round(loadavg()[0] ?? 0, 2);
  log(`\n== incremental updates at ${name}`);
  const cluster: SyntheticCluster = generateCluster(shape, SEED);
  const loadT = timed(() => IncrementalEngine.from(cluster, PROFILE));
  const engine = loadT.value;
  const classes = engine.classes();
  log(`   IncrementalEngine.from ${fmtMs(loadT.ms)}: ${fmtInt(classes.length)} classes`);

  const podsByKey = new Map(cluster.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  // A pod whose class has other members, and another class of its namespace with the same ports.
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
  const original = mover.pod.metadata.labels ?? {};
  const targetLabels = {
    ...(mover.target.metadata.labels ?? {}),
    'pod-template-hash': original['pod-template-hash'] ?? '',
  };

  const operations: IncrementalResult['operations'] = {};
  const measure = (op: string, note: string, step: (i: number) => { ms: number; changed: number }): void => {
    const samples: number[] = [];
    let changed = 0;
    const started = now();
    for (let i = 0; i < INCREMENTAL_REPEATS; i++) {
      const r = step(i);
      samples.push(r.ms);
      changed += r.changed;
      if (now() - started > INCREMENTAL_BUDGET_MS) break;
    }
    const d = distribution(samples);
    operations[op] = {
      ...d,
      p50Ms: round(d.p50Ms, 3),
      p99Ms: round(d.p99Ms, 3),
      maxMs: round(d.maxMs, 3),
      meanMs: round(d.meanMs, 3),
      verdictsChangedMean: round(changed / samples.length, 1),
      firstMs: round(samples[0] ?? Number.NaN, 3),
      p99WarmMs: round(distribution(samples.slice(1)).p99Ms, 3),
      note:
        samples.length < INCREMENTAL_REPEATS
          ? `${note}; stopped after ${samples.length} repeats (budget)`
          : note,
    };
    log(
      `   ${op}: first ${fmtMs(samples[0])}, p50 ${fmtMs(d.p50Ms)}, p99 ${fmtMs(d.p99Ms)}, max ${fmtMs(d.maxMs)} (n=${d.n}, ${round(changed / samples.length, 1)} verdicts changed on average)`,
    );
  };
  const timedChange = (
    fn: () => { verdictsChanged: readonly unknown[] },
  ): { ms: number; changed: number } => {
    const t = timed(fn);
    return { ms: t.ms, changed: t.value.verdictsChanged.length };
  };

  const { pod } = mover;
  measure('pod relabelled to an existing class', 'alternates between two classes of one namespace', (i) =>
    timedChange(() => engine.upsertPod(podWithLabels(pod, i % 2 === 0 ? targetLabels : original))),
  );
  engine.upsertPod(pod);
  const back: number[] = [];
  measure(
    'pod relabelled to a new class',
    'app label set to a new value each time (then moved back, timed apart)',
    (i) => {
      const r = timedChange(() => engine.upsertPod(podWithLabels(pod, { ...original, app: `canary-${i}` })));
      back.push(timed(() => engine.upsertPod(pod)).ms);
      return r;
    },
  );
  const backD = distribution(back);
  operations['pod relabelled back (its new class emptied)'] = {
    ...backD,
    p50Ms: round(backD.p50Ms, 3),
    p99Ms: round(backD.p99Ms, 3),
    maxMs: round(backD.maxMs, 3),
    meanMs: round(backD.meanMs, 3),
    verdictsChangedMean: Number.NaN,
    note: 'the undo of the previous operation: a class disappears',
  };
  log(`   pod relabelled back (class emptied): p50 ${fmtMs(backD.p50Ms)}, p99 ${fmtMs(backD.p99Ms)}`);

  const ns = cluster.namespaces.find((x) => x.metadata.name === mover.pod.metadata.namespace) as Namespace;
  const nsLabels = ns.metadata.labels ?? {};
  measure('namespace relabelled', 'its team label alternates between its own team and team-0', (i) =>
    timedChange(() =>
      engine.upsertNamespace({
        ...ns,
        metadata: {
          ...ns.metadata,
          labels: { ...nsLabels, team: i % 2 === 0 ? 'team-0' : (nsLabels.team ?? '') },
        },
      }),
    ),
  );
  engine.upsertNamespace(ns);

  // A policy whose first ingress rule has a podSelector peer: its app value alternates.
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
  measure(
    'policy changed (peer selector edited)',
    `${np.metadata.namespace}/${np.metadata.name}: the peer's app alternates between the namespace's apps`,
    (i) => timedChange(() => engine.upsertPolicy(edited(apps[i % apps.length] ?? 'web'))),
  );
  engine.upsertPolicy(np);

  const full = naiveRecompute?.pipeline;
  const loadEnd = round(loadavg()[0] ?? 0, 2);
  log(`   load average (1 min): ${loadStart} at start, ${loadEnd} at end`);
  return {
    size: name,
    load: { start: loadStart, end: loadEnd },
    loadMs: round(loadT.ms, 1),
    classes: classes.length,
    operations,
    naiveRecomputeMs: full ? full.ms : Number.NaN,
    naiveRecomputeHow: full
      ? `snapshot + partition + computeMatrix at ${name}, measured above in this run${full.estimated ? ' (ESTIMATED)' : ''}`
      : 'not measured',
  };
}

// ---- report ----

function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    profile: PROFILE_NAME,
    seed: SEED,
    gcExposed: hasGc() ? 'yes' : 'no (run with --expose-gc)',
  };
}

function mark(t: Timing): string {
  return `${fmtMs(t.ms)}${t.estimated ? '*' : ''}`;
}

function summary(results: readonly SizeResult[]): string {
  const rows: string[][] = [
    [
      'size',
      'pods',
      'ns',
      'policies',
      'classes',
      'snapshot',
      'partition',
      'matrix',
      'cells',
      'verdicts',
      'pipeline',
      'peak RSS',
      'heap',
      'naive',
      'naive/class',
    ],
  ];
  for (const r of results) {
    rows.push([
      r.size,
      fmtInt(r.generated.pods),
      fmtInt(r.generated.namespaces),
      fmtInt(r.generated.policies),
      fmtInt(r.classes.count),
      fmtMs(r.snapshot.ms),
      fmtMs(r.classes.ms),
      mark(r.matrix),
      fmtInt(r.matrix.cells),
      fmtInt(r.matrix.distinctVerdicts),
      mark(r.pipeline),
      `${r.memory.pipelinePeakRssMiB} MiB${r.memory.complete ? '' : '†'}`,
      `${r.memory.pipelinePeakHeapUsedMiB} MiB`,
      r.naive ? mark(r.naive.total) : '-',
      r.naive ? `${(r.naive.total.ms / r.pipeline.ms).toFixed(1)}x` : '-',
    ]);
  }
  return `${table(rows)}\n* estimated (see the per-size log and results.json for how); † without the class matrix (not built)`;
}

interface TargetCheck {
  readonly target: string;
  readonly met: boolean | 'unknown';
  readonly evidence: string;
}

function checkTargets(
  results: readonly SizeResult[],
  incremental: IncrementalResult | undefined,
): TargetCheck[] {
  const by = (s: string): SizeResult | undefined => results.find((r) => r.size === s);
  const out: TargetCheck[] = [];
  const ten = by('10k');
  out.push(
    ten
      ? {
          target: '10k pods / 2k policies / 500 ns: < 1 s and < 300 MiB',
          met: !ten.pipeline.estimated && ten.pipeline.ms < 1000 && ten.memory.pipelinePeakRssMiB < 300,
          evidence: `${mark(ten.pipeline)}, peak RSS ${ten.memory.pipelinePeakRssMiB} MiB${ten.memory.complete ? '' : ' (matrix not built)'}`,
        }
      : { target: '10k < 1 s, < 300 MiB', met: 'unknown', evidence: 'size 10k not run' },
  );
  const big = by('antrea');
  out.push(
    big
      ? {
          target: 'Antrea scale (130k pods, 75k policies, 25k ns): < 10 s and < 2 GiB',
          met: big.pipeline.ms < 10_000 && big.memory.complete && big.memory.pipelinePeakRssMiB < 2048,
          evidence: `${mark(big.pipeline)}; peak RSS ${big.memory.pipelinePeakRssMiB} MiB${big.memory.complete ? '' : ` without the matrix, which alone needs ${fmtInt(big.matrix.bytes / MiB)} MiB`}`,
        }
      : { target: 'Antrea scale', met: 'unknown', evidence: 'size antrea not run' },
  );
  if (incremental) {
    const worst = Math.max(...Object.values(incremental.operations).map((o) => o.p99Ms));
    out.push({
      target: `incremental update < 50 ms p99 at ${incremental.size}`,
      met: worst < 50,
      evidence: Object.entries(incremental.operations)
        .map(([k, v]) => `${k}: p99 ${fmtMs(v.p99Ms)}`)
        .join('; '),
    });
  } else {
    out.push({ target: 'incremental < 50 ms p99 at 10k', met: 'unknown', evidence: 'not run' });
  }
  for (const [a, b] of [
    ['1k', '10k'],
    ['10k', '100k'],
  ] as const) {
    const ra = by(a);
    const rb = by(b);
    if (!ra || !rb) {
      out.push({
        target: `10x pods <= 12x time (${a} -> ${b})`,
        met: 'unknown',
        evidence: 'a size was not run',
      });
      continue;
    }
    const ratio = rb.pipeline.ms / ra.pipeline.ms;
    out.push({
      target: `10x pods <= 12x time (${a} -> ${b})`,
      met: ratio <= 12,
      evidence: `${mark(ra.pipeline)} -> ${mark(rb.pipeline)} = ${ratio.toFixed(1)}x (classes ${fmtInt(ra.classes.count)} -> ${fmtInt(rb.classes.count)}, cells ${fmtInt(ra.matrix.cells)} -> ${fmtInt(rb.matrix.cells)})`,
    });
  }
  return out;
}

interface RunOutput {
  readonly results: SizeResult[];
  readonly incremental: IncrementalResult | undefined;
}

/** Runs sizes (and the incremental part) in this process. */
function runHere(
  names: readonly string[],
  withIncremental: boolean,
  perCellNsSeen: number | undefined,
): RunOutput {
  const results: SizeResult[] = [];
  let perCellNs = perCellNsSeen;
  for (const name of names) {
    const r = runSize(name, parseShape(name), perCellNs);
    results.push(r);
    if (r.rowSample) perCellNs = r.rowSample.perCellNs;
  }
  const incAt = args['incremental-at'] ?? '10k';
  const incremental = withIncremental
    ? runIncremental(
        incAt,
        parseShape(incAt),
        results.find((r) => r.size === incAt),
      )
    : undefined;
  return { results, incremental };
}

const PASSED_ON = [
  'seed',
  'profile',
  'naive-pairs',
  'naive-destinations',
  'budget-s',
  'max-matrix-mib',
  'incremental-at',
  'incremental-repeats',
  'incremental-budget-s',
] as const;

/** Runs one size (or the incremental part) in a fresh process: its memory is its own. */
function runChild(sizes: string, incremental: boolean, perCellNs: number | undefined): RunOutput {
  const dir = mkdtempSync(join(tmpdir(), 'netaudit-bench-'));
  const out = join(dir, 'part.json');
  const argv = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--child',
    `--sizes=${sizes}`,
    `--out=${out}`,
    ...PASSED_ON.map((k) => `--${k}=${String(args[k])}`),
    ...(args['no-naive'] ? ['--no-naive'] : []),
    ...(incremental ? [] : ['--no-incremental']),
    ...(perCellNs !== undefined ? [`--per-cell-ns=${perCellNs}`] : []),
  ];
  const child = spawnSync(process.execPath, argv, { stdio: 'inherit' });
  if (child.status !== 0) {
    log(
      `   child process for "${sizes || 'incremental'}" failed: status ${child.status}, signal ${child.signal}`,
    );
    return { results: [], incremental: undefined };
  }
  const part = JSON.parse(readFileSync(out, 'utf8')) as RunOutput;
  rmSync(dir, { recursive: true, force: true });
  return part;
}

function main(): void {
  const names = (args.sizes ?? '').split(',').filter((s) => s.length > 0);
  for (const n of names) parseShape(n);
  const withIncremental = !args['no-incremental'];
  const perCellArg = args['per-cell-ns'] === undefined ? undefined : Number(args['per-cell-ns']);
  if (args.child) {
    const part = runHere(names, withIncremental, perCellArg);
    writeFileSync(args.out ?? 'bench/results.json', `${JSON.stringify(part)}\n`);
    return;
  }
  log(`netaudit engine benchmark: ${JSON.stringify(machine())}`);
  if (!hasGc()) log('warning: no --expose-gc: memory between sizes is not reclaimed before measuring');
  let results: SizeResult[];
  let incremental: IncrementalResult | undefined;
  if (args['in-process']) {
    ({ results, incremental } = runHere(names, withIncremental, perCellArg));
  } else {
    log('each size runs in its own process (--in-process to run them all in this one)');
    results = [];
    let perCellNs = perCellArg;
    for (const name of names) {
      const part = runChild(name, false, perCellNs);
      results.push(...part.results);
      for (const r of part.results) if (r.rowSample) perCellNs = r.rowSample.perCellNs;
    }
    incremental = withIncremental ? runChild('', true, undefined).incremental : undefined;
    const incAt = args['incremental-at'] ?? '10k';
    const full = results.find((r) => r.size === incAt)?.pipeline;
    if (incremental && full && !Number.isFinite(incremental.naiveRecomputeMs)) {
      incremental = {
        ...incremental,
        naiveRecomputeMs: full.ms,
        naiveRecomputeHow: `snapshot + partition + computeMatrix at ${incAt}, measured in this run${full.estimated ? ' (ESTIMATED)' : ''}`,
      };
    }
  }
  if (args.merge) {
    ({ results, incremental } = merge(args.merge, results, incremental));
    const full = incremental ? results.find((r) => r.size === incremental?.size)?.pipeline : undefined;
    if (incremental && full) {
      incremental = {
        ...incremental,
        naiveRecomputeMs: full.ms,
        naiveRecomputeHow: `snapshot + partition + computeMatrix at ${incremental.size}${full.estimated ? ' (ESTIMATED)' : ''}`,
      };
    }
  }
  report(results, incremental);
}

/** Results of an earlier run (its results.json), with the sizes (and incremental part) run now replacing theirs. */
function merge(
  file: string,
  results: SizeResult[],
  incremental: IncrementalResult | undefined,
): { results: SizeResult[]; incremental: IncrementalResult | undefined } {
  const earlier = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunOutput>;
  const now = new Map(results.map((r) => [r.size, r]));
  const merged = (earlier.results ?? []).map((r) => now.get(r.size) ?? r);
  for (const r of results) if (!merged.includes(r)) merged.push(r);
  log(
    `merged with ${file}: ${results.map((r) => r.size).join(', ') || 'no size'} re-run${incremental ? ', incremental re-run' : ''}`,
  );
  return { results: merged, incremental: incremental ?? earlier.incremental ?? undefined };
}

function report(results: readonly SizeResult[], incremental: IncrementalResult | undefined): void {
  log(`\n${summary(results)}`);
  if (incremental) {
    const rows: string[][] = [
      [
        `operation at ${incremental.size}`,
        'n',
        'p50',
        'p99',
        'max',
        'verdicts changed',
        'vs full recompute (p99)',
      ],
    ];
    for (const [op, d] of Object.entries(incremental.operations)) {
      rows.push([
        op,
        String(d.n),
        fmtMs(d.p50Ms),
        fmtMs(d.p99Ms),
        fmtMs(d.maxMs),
        d.verdictsChangedMean === null || Number.isNaN(d.verdictsChangedMean)
          ? '-'
          : String(d.verdictsChangedMean),
        `${(incremental.naiveRecomputeMs / d.p99Ms).toFixed(0)}x faster`,
      ]);
    }
    log(
      `\n${table(rows)}\nfull recompute: ${fmtMs(incremental.naiveRecomputeMs)} (${incremental.naiveRecomputeHow})`,
    );
  }
  const targets = checkTargets(results, incremental);
  log('\ntargets (issue 3, point 8):');
  for (const t of targets)
    log(`  [${t.met === true ? 'met' : t.met === false ? 'NOT MET' : '?'}] ${t.target}: ${t.evidence}`);
  const out = args.out ?? 'bench/results.json';
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), args, results, incremental, targets }, null, 2)}\n`,
  );
  log(`\nwrote ${out}`);
}

main();
