// One audit round: snapshot -> classes -> plan -> launch servers -> settle -> launch clients ->
// collect -> compare -> confirm every mismatch by re-probing -> report. The runner is the only part
// that touches the cluster, so the whole loop runs in unit tests with a simulated runner.

import type { ClassFlow, Finding, Flow } from '../core/flow.ts';
import type { PortSpec, Protocol } from '../core/traffic.ts';
import type { PodClass } from '../expect/classes.ts';
import { ExpectationEngine } from '../expect/engine.ts';
import type { ExternalTarget } from '../expect/ports.ts';
import { reasonsOf } from '../expect/reasons.ts';
import type { EvalContext } from '../policy/evaluate.ts';
import { explain } from '../policy/explain.ts';
import { formatIP } from '../policy/ip.ts';
import type { CniProfile } from '../policy/profiles.ts';
import type { SnapshotInput } from '../policy/snapshot.ts';
import type { Endpoint, PodInfo, Traffic, Verdict } from '../policy/types.ts';
import { type FinalOutcome, finalOutcome } from '../probe/outcome.ts';
import { makePlan, type ProbePlan, type ProbeSpec, probeId } from '../probe/plan.ts';
import type {
  ClientOutcome,
  ClientRun,
  ClientSpec,
  FailedPod,
  ProbeRunner,
  StartedServer,
} from '../probe/runner.ts';
import { splitPlan } from '../probe/split.ts';
import { type Comparison, compare } from './compare.ts';
import { type Guard, type PlanInput, planRound, type SkippedClass, scopeClasses } from './plan.ts';
import type { ProbeSettings } from './probe-settings.ts';
import { type Coverage, rotate } from './rotation.ts';

/** The probe settings a round uses, as ProbeSettings defines them, and what only a round needs. */
export interface RoundOptions
  extends Pick<
    ProbeSettings,
    'externals' | 'ports' | 'timeoutMs' | 'attempts' | 'confirmAttempts' | 'clientDelayMs'
  > {
  readonly profile: CniProfile;
  readonly namespaces: readonly string[];
  /** Pause between servers being up and clients starting (the CNI programs the new pods everywhere). */
  readonly settleMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onProgress?: (event: RoundProgress) => void;
  /** Without it every class is probed on every node (the one-shot audit). */
  readonly rotation?: RotationOptions;
}

export interface RotationOptions {
  /** Probe pods (servers + clients) a round may plan; undefined: no budget. */
  readonly maxProbePods: number | undefined;
  /** Its classes are on every node every round. */
  readonly canaryNamespace: string | undefined;
  /** The previous completed round's `nextCursor` (0 to start). */
  readonly cursor: number;
}

export type RoundProgress =
  | { readonly phase: 'plan'; readonly servers: number; readonly clients: number; readonly skipped: number }
  | { readonly phase: 'servers'; readonly started: number; readonly failed: number }
  | { readonly phase: 'probe'; readonly pods: number; readonly probes: number }
  | { readonly phase: 'confirm'; readonly candidates: number }
  | { readonly phase: 'done'; readonly mismatches: number };

export interface RoundInput {
  readonly cluster: SnapshotInput;
  /** Expectations kept up to date by the caller (the controller); else built from `cluster`. */
  readonly engine?: ExpectationEngine | undefined;
  readonly nodes: readonly string[];
  readonly guards: readonly Guard[];
}

type Target =
  | { readonly kind: 'server'; readonly server: StartedServer }
  | { readonly kind: 'external'; readonly external: ExternalTarget };

interface ProbeRef {
  readonly target: Target;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface Unsettled extends Flow {
  readonly reason: string;
}

/** One probe of the first pass, with its expectation per direction: what the e2e tests check. */
export interface ProbeRecord extends ClassFlow {
  readonly expected: 'allow' | 'deny';
  readonly egressAllowed: boolean;
  readonly ingressAllowed: boolean;
  readonly observed: FinalOutcome['kind'];
  /**
   * False when the outcome says nothing about policy: an error, attempts that mix an error with a
   * block, or a block seen by a client that reached none of its allowed targets.
   */
  readonly conclusive: boolean;
  readonly clientPod: string;
  readonly serverPod: string | undefined;
}

export interface RoundReport {
  readonly summary: {
    readonly probes: number;
    readonly mismatches: number;
    readonly unexpectedAllow: number;
    readonly unexpectedDeny: number;
    readonly flaky: number;
    readonly skipped: number;
    readonly inconclusive: number;
    readonly classes: number;
    readonly nodes: number;
    readonly podsCreated: number;
    /** Server probe pods kept from an earlier run and probed again (the controller keeps them). */
    readonly serversReused: number;
    /** Probes a pod-by-pod audit would need (every pod pair and port, from every node). */
    readonly podPairProbes: number;
    readonly savedProbes: number;
  };
  readonly mismatches: readonly Finding[];
  readonly flaky: readonly Unsettled[];
  readonly inconclusive: readonly Unsettled[];
  readonly skipped: readonly SkippedClass[];
  readonly failedPods: readonly FailedPod[];
  readonly probes: readonly ProbeRecord[];
  /** Which (class, node) pairs this round covered, and where the next round's window starts. */
  readonly rotation: {
    readonly coverage: Coverage;
    /** Class id -> the nodes it was planned on, for every class in scope (none: an empty list). */
    readonly assignment: ReadonlyMap<string, readonly string[]>;
    readonly nodes: readonly string[];
    readonly probePods: number;
    readonly overBudget: boolean;
    readonly nextCursor: number;
  };
  /** Where the time went, in milliseconds. */
  readonly timings: {
    readonly plan: number;
    readonly servers: number;
    readonly settle: number;
    readonly clients: number;
    readonly confirm: number;
    readonly total: number;
  };
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A re-probe waits this many times longer, per attempt and before it starts, than the first probe:
 * a real drop stays silent however long one waits, while a starved UDP server answers late and a new
 * pod the CNI has not wired up yet starts working. Measured in the 2-core lab under churn (load 25):
 * with the first probe's timeout, re-probes of both kinds confirmed dozens of false unexpected-deny
 * findings a round.
 */
export const CONFIRM_SLACK = 2;

function serverEndpoint(s: StartedServer): Endpoint {
  return { kind: 'pod', pod: s.pod };
}

function targetName(t: Target): string {
  return t.kind === 'server' ? t.server.spec.key : `ip:${t.external.text}`;
}

/** The classes, their ports and the pods a round plans, from the engine. */
interface Planned {
  readonly classes: readonly PodClass[];
  readonly classById: Map<string, PodClass>;
  readonly classPorts: ReadonlyMap<string, readonly PortSpec[]>;
  readonly portsFor: (endpoint: Endpoint) => PortSpec[];
  readonly rotation: ReturnType<typeof rotate>;
  readonly plan: ReturnType<typeof planRound>;
}

function planPhase(engine: ExpectationEngine, input: RoundInput, options: RoundOptions): Planned {
  const classes = engine.classes();
  const classById = new Map(classes.map((c) => [c.id as string, c]));
  const portsFor = (endpoint: Endpoint): PortSpec[] => [...engine.portsOfEndpoint(endpoint)];
  const classPorts = new Map(
    classes.map((c) => [
      c.id as string,
      engine.portsOf({ kind: 'class', id: c.id, cls: c, endpoint: c.endpoint }),
    ]),
  );
  const planInput: PlanInput = {
    classes,
    projection: engine.projection,
    nodes: input.nodes,
    portsOf: (cls) => classPorts.get(cls.id) ?? portsFor({ kind: 'pod', pod: cls.representative }),
    guards: input.guards,
    namespaces: options.namespaces,
    reservedLabelPrefix: 'netaudit.io/',
  };
  const rotation = rotate({
    nodes: input.nodes,
    classes: scopeClasses(planInput).scoped.map((s) => ({
      id: s.cls.id,
      namespace: s.cls.namespace,
      podsPerNode: s.listen.length > 0 ? 2 : 1,
    })),
    maxProbePods: options.rotation?.maxProbePods,
    canaryNamespace: options.rotation?.canaryNamespace,
    cursor: options.rotation?.cursor ?? 0,
  });
  return {
    classes,
    classById,
    classPorts,
    portsFor,
    rotation,
    plan: planRound(planInput, rotation.assignment),
  };
}

/** Every (server or external target, port) a client probes, by probe id. */
function probeTargets(
  started: readonly StartedServer[],
  externals: readonly ExternalTarget[],
  portsFor: (endpoint: Endpoint) => PortSpec[],
): { readonly refs: ReadonlyMap<string, ProbeRef>; readonly probes: readonly ProbeSpec[] } {
  const targets: ProbeRef[] = [];
  for (const server of started) {
    for (const p of server.spec.listen)
      targets.push({ target: { kind: 'server', server }, port: p.port, protocol: p.protocol });
  }
  for (const external of externals) {
    const ports = external.ports
      ? [...external.ports]
      : portsFor({ kind: 'external', ip: external.ip, text: external.text });
    for (const p of ports)
      targets.push({ target: { kind: 'external', external }, port: p.port, protocol: p.protocol });
  }
  const refs = new Map<string, ProbeRef>();
  const probes: ProbeSpec[] = targets.map((t, i) => {
    const id = probeId(i);
    refs.set(id, t);
    const host = t.target.kind === 'server' ? ipText(t.target.server) : t.target.external.text;
    return { id, host, port: t.port, protocol: t.protocol };
  });
  return { refs, probes };
}

/**
 * The first pass's client pods. The canary's classes probe one another only: its policy is all they
 * are there to test, and a canary that every user class probed (and that probed every user class)
 * would cost a round as much again as the canary's few pods suggest.
 */
function firstRuns(
  clients: readonly ClientSpec[],
  targets: ReturnType<typeof probeTargets>,
  options: RoundOptions,
): ClientRun[] {
  const canary = options.rotation?.canaryNamespace;
  const runsOf = (specs: readonly ClientSpec[], probes: readonly ProbeSpec[]): ClientRun[] =>
    clientRuns(specs, probes, options.timeoutMs, options.attempts, options.clientDelayMs, '');
  if (canary === undefined) return runsOf(clients, targets.probes);
  const inCanary = (p: ProbeSpec): boolean => {
    const target = targets.refs.get(p.id)?.target;
    return target?.kind === 'server' && target.server.spec.namespace === canary;
  };
  return [
    ...runsOf(
      clients.filter((c) => c.namespace !== canary),
      targets.probes.filter((p) => !inCanary(p)),
    ),
    ...runsOf(
      clients.filter((c) => c.namespace === canary),
      targets.probes.filter(inCanary),
    ),
  ];
}

/** One probe result with its expectation (computed on the actual probe pods) and their comparison. */
interface Classified {
  readonly ref: ProbeRef;
  readonly traffic: Traffic;
  readonly verdict: Verdict;
  readonly comparison: Comparison;
}

type Classify = (
  outcome: ClientOutcome,
  id: string,
  attempts: Parameters<typeof compare>[1],
) => Classified | undefined;

function classifier(engine: ExpectationEngine, refs: ReadonlyMap<string, ProbeRef>): Classify {
  return (outcome, id, attempts) => {
    const ref = refs.get(id);
    if (!ref || !outcome.pod) return undefined;
    const to =
      ref.target.kind === 'server'
        ? serverEndpoint(ref.target.server)
        : externalEndpoint(ref.target.external);
    const traffic = { from: outcome.pod, to, port: ref.port, protocol: ref.protocol };
    const verdict = engine.verdictFor(traffic.from, traffic.to, traffic.port, traffic.protocol);
    return { ref, traffic, verdict, comparison: compare(verdict, attempts) };
  };
}

type UnsettledOf = (outcome: ClientOutcome, ref: ProbeRef, reason: string) => Unsettled;

function unsettledMaker(classById: ReadonlyMap<string, PodClass>): UnsettledOf {
  return (outcome, ref, reason) => ({
    from: representativeOf(classById, outcome.run.spec.classId),
    to:
      ref.target.kind === 'server'
        ? representativeOf(classById, ref.target.server.spec.classId)
        : `ip:${ref.target.external.text}`,
    port: ref.port,
    protocol: ref.protocol,
    srcNode: outcome.run.spec.node,
    dstNode: ref.target.kind === 'server' ? ref.target.server.spec.node : undefined,
    reason,
  });
}

interface FirstPass {
  readonly records: ProbeRecord[];
  readonly flaky: Unsettled[];
  readonly inconclusive: Unsettled[];
  readonly failedPods: FailedPod[];
  /** Candidate mismatches, by client pod: confirmed by a re-probe before they are reported. */
  readonly candidates: Map<string, { outcome: ClientOutcome; ids: string[] }>;
  readonly probeCount: number;
}

function firstPass(
  outcomes: readonly ClientOutcome[],
  classify: Classify,
  unsettled: UnsettledOf,
  failed: readonly FailedPod[],
): FirstPass {
  const pass: FirstPass = {
    records: [],
    flaky: [],
    inconclusive: [],
    failedPods: [...failed],
    candidates: new Map(),
    probeCount: 0,
  };
  let probeCount = 0;
  for (const outcome of outcomes) {
    if (!outcome.results) {
      pass.failedPods.push({
        name: outcome.run.name,
        namespace: outcome.run.spec.namespace,
        node: outcome.run.spec.node,
        reason: outcome.failure ?? 'no results',
      });
      continue;
    }
    // A client that reached none of the targets it is allowed to reach has a broken network of its
    // own: its blocked probes are no evidence that policy blocked them (they stay inconclusive),
    // while its failed allowed probes still go to confirmation like any candidate.
    const classified = outcome.results.map((r) => ({ r, c: classify(outcome, r.id, r.attempts) }));
    const allowed = classified.filter((x) => x.c?.verdict.allowed);
    const deaf =
      allowed.length > 0 && !classified.some((x) => x.c && finalOutcome(x.r.attempts).kind === 'connected');
    for (const { r, c } of classified) {
      if (!c) continue;
      probeCount++;
      const { reason: _, ...flow } = unsettled(outcome, c.ref, '');
      pass.records.push({
        ...flow,
        expected: c.verdict.allowed ? 'allow' : 'deny',
        egressAllowed: c.verdict.egress.allowed,
        ingressAllowed: c.verdict.ingress.allowed,
        observed: finalOutcome(r.attempts).kind,
        conclusive: !(deaf && !c.verdict.allowed) && c.comparison.kind !== 'inconclusive',
        fromClass: outcome.run.spec.classId,
        toClass: c.ref.target.kind === 'server' ? c.ref.target.server.spec.classId : undefined,
        clientPod: `${outcome.run.spec.namespace}/${outcome.run.name}`,
        serverPod:
          c.ref.target.kind === 'server'
            ? `${c.ref.target.server.spec.namespace}/${c.ref.target.server.name}`
            : undefined,
      });
      if (deaf && !c.verdict.allowed) {
        pass.inconclusive.push(
          unsettled(
            outcome,
            c.ref,
            `the client pod reached none of its ${allowed.length} allowed targets: its blocked probes prove nothing`,
          ),
        );
      } else if (c.comparison.kind === 'match' && c.comparison.flaky) {
        pass.flaky.push(unsettled(outcome, c.ref, 'connected after failed attempts'));
      } else if (c.comparison.kind === 'inconclusive') {
        pass.inconclusive.push(unsettled(outcome, c.ref, c.comparison.reason));
      } else if (c.comparison.kind === 'mismatch') {
        const entry = pass.candidates.get(outcome.run.name) ?? { outcome, ids: [] };
        entry.ids.push(r.id);
        pass.candidates.set(outcome.run.name, entry);
      }
    }
  }
  return { ...pass, probeCount };
}

/**
 * Confirms every candidate mismatch by probing it again, more times and longer, before reporting it;
 * what the re-probe does not confirm is flaky.
 */
async function confirmPhase(
  pass: FirstPass,
  probes: readonly ProbeSpec[],
  runner: ProbeRunner,
  classify: Classify,
  unsettled: UnsettledOf,
  toFinding: (c: Classified, confirmed: Comparison & { kind: 'mismatch' }, outcome: ClientOutcome) => Finding,
  options: RoundOptions,
): Promise<{ readonly mismatches: Finding[]; readonly unconfirmed: Unsettled[] }> {
  const mismatches: Finding[] = [];
  const unconfirmed: Unsettled[] = [];
  const candidates = [...pass.candidates.values()];
  const confirmRuns = candidates.flatMap(({ outcome, ids }, k) => {
    const wanted = new Set(ids);
    return clientRuns(
      [outcome.run.spec],
      probes.filter((p) => wanted.has(p.id)),
      options.timeoutMs * CONFIRM_SLACK,
      options.confirmAttempts,
      options.clientDelayMs * CONFIRM_SLACK,
      `c${k}`,
    );
  });
  const confirmed = await runner.runClients(confirmRuns);
  const byClass = new Map<string, ClientOutcome[]>();
  for (const o of confirmed) byClass.set(o.run.spec.key, [...(byClass.get(o.run.spec.key) ?? []), o]);
  for (const { outcome, ids } of candidates) {
    const confirmOutcomes = byClass.get(outcome.run.spec.key) ?? [];
    for (const id of ids) {
      const first = outcome.results?.find((r) => r.id === id);
      const again = confirmOutcomes.flatMap((o) =>
        (o.results ?? []).filter((r) => r.id === id).map((r) => ({ o, r })),
      )[0];
      const original = first ? classify(outcome, id, first.attempts) : undefined;
      if (original?.comparison.kind !== 'mismatch') continue;
      const re = again ? classify(again.o, id, again.r.attempts) : undefined;
      if (!re || !sameMismatch(original.comparison, re.comparison)) {
        unconfirmed.push(
          unsettled(
            outcome,
            original.ref,
            re
              ? `not confirmed: re-probe gave ${describe(re.comparison)}`
              : 'not confirmed: the re-probe gave no result',
          ),
        );
        continue;
      }
      mismatches.push(toFinding(original, re.comparison as Comparison & { kind: 'mismatch' }, outcome));
    }
  }
  return { mismatches, unconfirmed };
}

export async function runRound(
  input: RoundInput,
  runner: ProbeRunner,
  options: RoundOptions,
): Promise<RoundReport> {
  const sleep = options.sleep ?? wait;
  const progress = options.onProgress ?? (() => undefined);
  const t0 = performance.now();
  const mark = (): number => performance.now();
  // The controller passes its incremental engine; a one-shot audit builds one from what it read.
  const engine =
    input.engine ??
    ExpectationEngine.from(input.cluster, options.profile, {
      ports: options.ports,
      externals: options.externals,
    });
  const { classes, classById, classPorts, portsFor, rotation, plan } = planPhase(engine, input, options);
  progress({
    phase: 'plan',
    servers: plan.servers.length,
    clients: plan.clients.length,
    skipped: plan.skipped.length,
  });

  const tPlan = mark();
  const { started, failed } = await runner.startServers(plan.servers);
  progress({ phase: 'servers', started: started.length, failed: failed.length });
  const tServers = mark();
  // Servers kept from an earlier round are programmed everywhere already: only new ones need the pause.
  if (options.settleMs > 0 && started.some((s) => s.fresh)) await sleep(options.settleMs);
  const tSettle = mark();

  const targets = probeTargets(started, options.externals, portsFor);
  const runs = firstRuns(plan.clients, targets, options);
  progress({ phase: 'probe', pods: runs.length, probes: runs.reduce((n, r) => n + r.plan.probes.length, 0) });
  const outcomes = targets.probes.length > 0 ? await runner.runClients(runs) : [];
  const tClients = mark();

  const classify = classifier(engine, targets.refs);
  const unsettled = unsettledMaker(classById);
  const pass = firstPass(outcomes, classify, unsettled, failed);
  const candidateCount = [...pass.candidates.values()].reduce((n, c) => n + c.ids.length, 0);
  if (candidateCount > 0) progress({ phase: 'confirm', candidates: candidateCount });
  const { mismatches, unconfirmed } =
    candidateCount > 0
      ? await confirmPhase(
          pass,
          targets.probes,
          runner,
          classify,
          unsettled,
          (c, confirmed, outcome) => finding(engine.ctx, c, confirmed, outcome, classById),
          options,
        )
      : { mismatches: [], unconfirmed: [] };
  const flaky = [...pass.flaky, ...unconfirmed];

  const tConfirm = mark();
  const unexpectedAllow = mismatches.filter((m) => m.kind === 'unexpected-allow').length;
  const podPairProbes = podPairCount(classes, classPorts, input.nodes.length, portsFor, options);
  const summary = {
    probes: pass.probeCount,
    mismatches: mismatches.length,
    unexpectedAllow,
    unexpectedDeny: mismatches.length - unexpectedAllow,
    flaky: flaky.length,
    skipped: plan.skipped.length,
    inconclusive: pass.inconclusive.length,
    classes: new Set([...plan.clients.map((c) => c.classId)]).size,
    nodes: input.nodes.length,
    podsCreated: runner.podsCreated,
    serversReused: started.filter((s) => !s.fresh).length,
    podPairProbes,
    savedProbes: Math.max(0, podPairProbes - pass.probeCount),
  };
  progress({ phase: 'done', mismatches: mismatches.length });
  return {
    summary,
    mismatches: sortFindings(mismatches),
    flaky,
    inconclusive: pass.inconclusive,
    skipped: plan.skipped,
    failedPods: pass.failedPods,
    probes: pass.records,
    rotation: {
      coverage: rotation.coverage,
      assignment: new Map(
        [...rotation.assignment].map(([id, idx]) => [id, idx.flatMap((i) => input.nodes[i] ?? [])]),
      ),
      nodes: input.nodes,
      probePods: rotation.probePods,
      overBudget: rotation.overBudget,
      nextCursor: rotation.nextCursor,
    },
    timings: {
      plan: Math.round(tPlan - t0),
      servers: Math.round(tServers - tPlan),
      settle: Math.round(tSettle - tServers),
      clients: Math.round(tClients - tSettle),
      confirm: Math.round(tConfirm - tClients),
      total: Math.round(tConfirm - t0),
    },
  };
}

function ipText(s: StartedServer): string {
  const ip = s.pod.ips[0];
  return ip ? formatIP(ip) : '';
}

function externalEndpoint(e: ExternalTarget): Endpoint {
  return { kind: 'external', ip: e.ip, text: e.text };
}

function representativeOf(classById: ReadonlyMap<string, { representative: PodInfo }>, id: string): string {
  return classById.get(id)?.representative.key ?? id;
}

function sameMismatch(a: Comparison, b: Comparison): boolean {
  return a.kind === 'mismatch' && b.kind === 'mismatch' && a.mismatch === b.mismatch;
}

function describe(c: Comparison): string {
  switch (c.kind) {
    case 'match':
      return 'the expected result';
    case 'mismatch':
      return c.observed;
    case 'inconclusive':
      return c.reason;
    default:
      return c satisfies never;
  }
}

function finding(
  ctx: EvalContext,
  c: { ref: ProbeRef; traffic: Traffic; verdict: Verdict },
  comparison: Comparison & { kind: 'mismatch' },
  outcome: ClientOutcome,
  classById: Map<string, { representative: PodInfo; members: PodInfo[] }>,
): Finding {
  const srcClass = classById.get(outcome.run.spec.classId);
  const server = c.ref.target.kind === 'server' ? c.ref.target.server : undefined;
  const dstClass = server ? classById.get(server.spec.classId) : undefined;
  const srcNode = outcome.run.spec.node;
  const dstNode = server?.spec.node;
  const nodes =
    comparison.mismatch === 'unexpected-allow'
      ? [
          ...(!c.verdict.egress.allowed ? [srcNode] : []),
          ...(!c.verdict.ingress.allowed && dstNode ? [dstNode] : []),
        ]
      : [srcNode, ...(dstNode && dstNode !== srcNode ? [dstNode] : [])];
  const from = srcClass?.representative.key ?? outcome.run.spec.classId;
  const to = dstClass ? dstClass.representative.key : targetName(c.ref.target);
  return {
    from,
    to,
    port: c.ref.port,
    protocol: c.ref.protocol,
    expected: c.verdict.allowed ? 'allow' : 'deny',
    observed: comparison.observed,
    kind: comparison.mismatch,
    because: reasonsOf(c.verdict),
    nodes: [...new Set(nodes)],
    srcNode,
    dstNode,
    fromClass: outcome.run.spec.classId,
    toClass: server?.spec.classId,
    fromPods: srcClass?.members.map((m) => m.key) ?? [],
    toPods: dstClass?.members.map((m) => m.key) ?? [],
    probePods: {
      client: `${outcome.run.spec.namespace}/${outcome.run.name}`,
      server: server ? `${server.spec.namespace}/${server.name}` : undefined,
    },
    explanation: explain(ctx, c.traffic, c.verdict),
  };
}

function sortFindings(list: Finding[]): Finding[] {
  return list.sort((a, b) =>
    a.kind !== b.kind
      ? a.kind < b.kind
        ? -1
        : 1
      : `${a.from} ${a.to} ${a.port}/${a.protocol} ${a.srcNode}` <
          `${b.from} ${b.to} ${b.port}/${b.protocol} ${b.srcNode}`
        ? -1
        : 1,
  );
}

/** Client runs for specs, each plan split so its results fit the 4 KiB termination message. */
export function clientRuns(
  specs: readonly ClientSpec[],
  probes: readonly ProbeSpec[],
  timeoutMs: number,
  attempts: number,
  delayMs: number,
  suffix: string,
): ClientRun[] {
  if (probes.length === 0) return [];
  const whole = makePlan({ probes, timeoutMs, attempts });
  if (!whole.ok) throw whole.error;
  const parts = splitPlan(whole.value);
  if (!parts.ok) throw parts.error;
  const runs: ClientRun[] = [];
  for (const spec of specs) {
    parts.value.forEach((plan: ProbePlan, i: number) => {
      const name = `${spec.key}${suffix ? `-${suffix}` : ''}${parts.value.length > 1 ? `-p${i}` : ''}`;
      runs.push({ name, spec, plan, delayMs });
    });
  }
  return runs;
}

function podPairCount(
  classes: readonly PodClass[],
  classPorts: ReadonlyMap<string, readonly PortSpec[]>,
  nodes: number,
  portsFor: (e: Endpoint) => PortSpec[],
  options: RoundOptions,
): number {
  const scoped = classes.filter(
    (c) => options.namespaces.length === 0 || options.namespaces.includes(c.namespace),
  );
  let pods = 0;
  let perSource = 0;
  for (const c of scoped) {
    pods += c.members.length;
    perSource += c.members.length * (classPorts.get(c.id)?.length ?? 0);
  }
  for (const e of options.externals)
    perSource += portsFor({ kind: 'external', ip: e.ip, text: e.text }).length;
  // Every pod probing every other pod (and external target) on its ports, on each of its nodes' peers.
  return pods * perSource * Math.max(1, nodes);
}
