// `netaudit controller`: watches Namespaces, Pods and NetworkPolicies into the incremental engine,
// and while it holds the Lease runs audit rounds: periodically and after changes (once they settle),
// always with the canary, publishing mismatches as metrics and Events. It never disturbs workloads:
// everything it creates is a labelled, owned, never-Ready probe pod, deleted at the end of the round,
// on shutdown, and (orphans of a dead leader) when it takes over.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { guardsFor } from '../audit/guards.ts';
import { type NodeScopeOptions, nodeScope } from '../audit/node-scope.ts';
import { diagnoseNodes, type NodeCandidate, type NodeVerdict } from '../audit/nodes.ts';
import { standingFindings, verdictKey } from '../audit/rotation.ts';
import {
  clientDeadlineSeconds,
  type Finding,
  type RoundOptions,
  type RoundReport,
  runRound,
} from '../audit/round.ts';
import type { ClusterNetworkPolicy, Namespace, NetworkPolicy, Pod } from '../core/k8s.ts';
import type { Protocol } from '../core/traffic.ts';
import type { EngineOptions } from '../expect/engine.ts';
import { type Change, ExpectationEngine } from '../expect/engine.ts';
import {
  CNP_PATH,
  listClusterPolicies,
  type RawClusterPolicy,
  toClusterNetworkPolicy,
  unavailableReason,
} from '../kube/cluster-policies.ts';
import { toClientNetworkPolicy, toNamespace, toNetworkPolicy, toPod } from '../kube/convert.ts';
import { isNotFound, kubeError } from '../kube/errors.ts';
import {
  EventRecorder,
  kubeEventSink,
  REASON_NODE_ENFORCING,
  REASON_NODE_NOT_ENFORCING,
} from '../kube/events.ts';
import { ResilientInformer } from '../kube/informer.ts';
import { deleteOrphans, KubeProbeRunner } from '../kube/launcher.ts';
import { LeaderElector } from '../kube/lease.ts';
import { LABEL_PROBE } from '../kube/probe-pods.ts';
import { nodeInfo } from '../kube/read-cluster.ts';
import { KubeServerSet } from '../kube/server-set.ts';
import type { Metrics } from '../report/metrics.ts';
import { nodeReason } from '../report/nodes.ts';
import { adminDenialsOver, coverSignature } from './admin-cover.ts';
import { CANARY_PODS_PER_NODE, CANARY_POLICY, canaryChecksFit, canaryPods, canaryPolicy } from './canary.ts';
import { enforcedChanges } from './enforcement.ts';
import type { EventLimits } from './event-limits.ts';
import { mergeNodeVerdicts, nodeTransitions, reportedBroken } from './node-health.ts';
import { nextCanaryCheck, nextFullRound, type RoundKind } from './schedule.ts';

/** What every round is probed with, as `netaudit audit` takes it. */
type ProbeSettings = Pick<
  RoundOptions,
  'profile' | 'externals' | 'ports' | 'timeoutMs' | 'attempts' | 'confirmAttempts' | 'clientDelayMs'
>;

export interface ControllerOptions extends ProbeSettings {
  readonly identity: string;
  /** Where the Lease lives (the controller's own namespace). */
  readonly namespace: string;
  readonly leaseName: string;
  readonly intervalMs: number;
  readonly settleMs: number;
  readonly includeNamespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly image: string;
  readonly canary: boolean;
  readonly canaryNamespace: string;
  /** Canary-only checks between full rounds, so a node that stops enforcing is caught within about this (0: off). */
  readonly canaryIntervalMs: number;
  readonly podTimeoutMs: number;
  readonly concurrency: number;
  readonly rate: number;
  /** Probe pods a round may plan; past it user classes rotate over the nodes. Undefined: no budget. */
  readonly maxProbePods: number | undefined;
  readonly eventLimits: EventLimits;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Probe pods of every replica share this instance label, so a new leader finds the old one's. */
  readonly instance: string;
  /** Which nodes rounds probe (tainted ones by default, as node monitoring agents do). */
  readonly nodeScope: NodeScopeOptions;
}

type RoundOutcome = 'completed' | 'aborted' | 'failed';

/** What changed while one run (a full round or a canary check) probed: its results there are not trusted. */
interface ChangeTracker {
  readonly changed: Set<string>;
  repartitioned: boolean;
}

interface Probed {
  readonly outcome: RoundOutcome;
  /** The canary was part of this run (a canary check, or a full round while checks are off). */
  readonly withCanary: boolean;
  /** Undefined when the round did not complete, or its results were discarded. */
  readonly report: RoundReport | undefined;
  /** Classes that changed while it ran: their results are not trusted. */
  readonly changed: ReadonlySet<string>;
  readonly seconds: number;
  readonly started: number;
  readonly log: Logger;
  /** Every node of the cluster, with the reason it was left out of this run if it was. */
  readonly nodes: readonly NodeCandidate[];
}

const EMPTY_CLUSTER = { namespaces: [], pods: [], policies: [] } as const;

/** Kept server probe pods live at most this long: the admission policy allows probe pods an hour. */
const SERVER_LIFETIME_SECONDS = 3600;

/** Policy changes awaiting proof of enforcement; beyond this the oldest are forgotten. */
const MAX_PENDING_ENFORCEMENT = 256;

export class Controller {
  private readonly kc: k8s.KubeConfig;
  private readonly options: ControllerOptions;
  private engine: ExpectationEngine;
  /**
   * Until the first LISTs are in, events only fill the caches: the engine is then built in one bulk
   * load. Fed object by object, the initial sync costs quadratic time and a diff per object.
   */
  private bulkLoading = true;
  private readonly informers: ResilientInformer<k8s.KubernetesObject>[] = [];
  /** Watches ClusterNetworkPolicies when the cluster serves them (and netaudit may read them). */
  private cnpInformer: ResilientInformer<k8s.KubernetesObject> | undefined;
  /** The Admin-tier denials over netaudit's namespaces last reported, to log only changes. */
  private adminCover = '';
  private readonly elector: LeaderElector;
  private readonly events: EventRecorder;
  private stopped = false;
  private leading = false;
  /** Full rounds and canary checks under way (they run side by side). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly runners = new Set<KubeProbeRunner>();
  /** Server probe pods kept across the runs of this leadership term. */
  private servers: KubeServerSet | undefined;
  /** Run ids of the runs under way: a full round's orphan sweep spares them. */
  private readonly activeRuns = new Set<string>();
  private readonly sleepers = new Set<() => void>();
  /** A full round's sweep of orphaned probe pods: a canary check waits for it before creating its own. */
  private sweeping: Promise<unknown> = Promise.resolve();
  private lastChange = 0;
  private pendingChange = false;
  /** One per run under way: classes that changed while it ran have their results discarded. */
  private readonly trackers = new Set<ChangeTracker>();
  /** Standing findings are read and replaced by one run at a time (full rounds and checks overlap). */
  private publishing: Promise<void> = Promise.resolve();
  /** Policy changes not yet seen enforced: when they happened and which classes they touched. */
  private readonly pendingEnforcement: { at: number; classes: Set<string> }[] = [];
  /** Where the next round's node window starts; moves only when a round's results are recorded. */
  private cursor = 0;
  /** The mismatches published by the last recorded round (rotation keeps unprobed ones standing). */
  private standing: Finding[] = [];
  /** Verdicts (`verdictKey`) changed since the last recorded round: their standing findings are stale. */
  private changedVerdicts = new Set<string>();
  /** The cells of the standing findings, to compare their verdicts across a change. */
  private standingCells: readonly {
    key: string;
    from: string;
    to: string;
    port: number;
    protocol: Protocol;
  }[] = [];
  /** Schedulable nodes at the last round: what a canary check would cost. */
  private schedulableNodes = 0;
  /** Each node's enforcement as the runs so far have shown it (see node-health.ts). */
  private nodeVerdicts: ReadonlyMap<string, NodeVerdict> = new Map();
  /** When the evidence behind each node's verdict was probed (the start of that run). */
  private nodeProbedAt = new Map<string, number>();
  /** The nodes an earlier leader left broken (open NodeNotEnforcing Events) were read this term. */
  private nodesAdopted = false;
  /** Owner ConfigMaps without pods were swept by label this leadership term (no ConfigMap list in RBAC). */
  private ownersSwept = false;

  constructor(kc: k8s.KubeConfig, options: ControllerOptions) {
    this.kc = kc;
    this.options = options;
    this.engine = new ExpectationEngine(options.profile, this.engineOptions());
    this.events = new EventRecorder(kubeEventSink(kc), options.identity, options.logger, options.eventLimits);
    this.elector = new LeaderElector(kc, {
      namespace: options.namespace,
      name: options.leaseName,
      identity: options.identity,
      logger: options.logger,
      onStartedLeading: (previous) => {
        this.leading = true;
        this.ownersSwept = false;
        options.metrics.leader.set(1);
        void this.lead(previous);
      },
      onStoppedLeading: () => {
        this.leading = false;
        options.metrics.leader.set(0);
        // The new leader reports from now on: a stale series here would keep an alert firing (or
        // silence it) after the problem is gone. Standing findings start afresh if leadership returns.
        options.metrics.setMismatches([]);
        // Events too: the new leader adopts the open ones; this replica adopts them again if it leads.
        this.events.forget();
        this.nodeVerdicts = new Map();
        this.nodeProbedAt = new Map();
        this.nodesAdopted = false;
        options.metrics.setNodeVerdicts([]);
        this.standing = [];
        this.standingCells = [];
        for (const runner of this.runners) void runner.cleanup();
        void this.servers?.cleanup();
        this.servers = undefined;
        this.wakeAll();
      },
    });
  }

  /** Ready: every cache synced and the leader state known. */
  get ready(): boolean {
    return !this.stopped && this.informers.every((i) => i.isSynced) && this.elector.state !== 'unknown';
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const net = this.kc.makeApiClient(k8s.NetworkingV1Api);
    const log = this.options.logger;
    const metrics = this.options.metrics;
    const common = (resource: string) => ({
      resource,
      logger: log,
      onList: () => metrics.lists.inc({ resource }),
      onRestart: () => metrics.informerRestarts.inc({ resource }),
    });
    const apply = (what: string, fn: () => Change): void => {
      if (this.bulkLoading) return;
      // Flows with a standing mismatch are compared before and after: a finding whose expectation
      // changed is stale. Only those: recording every changed verdict would grow with classes².
      const before = this.standingSignatures();
      const change = fn();
      for (const [key, cell] of before) {
        const now = this.engine.cellSignature(cell.from, cell.to, cell.port, cell.protocol);
        if (now !== cell.signature) this.changedVerdicts.add(key);
      }
      this.noteChange(what, change);
    };
    this.informers.push(
      new ResilientInformer<k8s.V1Namespace>(
        this.kc,
        {
          ...common('namespaces'),
          path: '/api/v1/namespaces',
          list: (page) => core.listNamespace(page),
          transform: withoutManagedFields,
        },
        {
          add: (o) => apply('namespace', () => this.engine.upsertNamespace(toNamespace(o))),
          update: (o) => apply('namespace', () => this.engine.upsertNamespace(toNamespace(o))),
          delete: (o) => apply('namespace', () => this.engine.deleteNamespace(o.metadata?.name ?? '')),
        },
      ) as unknown as ResilientInformer<k8s.KubernetesObject>,
      new ResilientInformer<k8s.V1Pod>(
        this.kc,
        {
          ...common('pods'),
          path: '/api/v1/pods',
          // netaudit's own probe pods are not workloads: never feed them to the engine.
          labelSelector: `!${LABEL_PROBE}`,
          list: (page) => core.listPodForAllNamespaces({ ...page, labelSelector: `!${LABEL_PROBE}` }),
          transform: cachedPod,
        },
        {
          add: (o) => apply('pod', () => this.engine.upsertPod(toPod(o))),
          update: (o) => apply('pod', () => this.engine.upsertPod(toPod(o))),
          delete: (o) =>
            apply('pod', () => this.engine.deletePod(o.metadata?.namespace ?? '', o.metadata?.name ?? '')),
        },
      ) as unknown as ResilientInformer<k8s.KubernetesObject>,
      new ResilientInformer<k8s.V1NetworkPolicy>(
        this.kc,
        {
          ...common('networkpolicies'),
          path: '/apis/networking.k8s.io/v1/networkpolicies',
          list: (page) => net.listNetworkPolicyForAllNamespaces(page),
          transform: withoutManagedFields,
        },
        {
          add: (o) => apply('policy', () => this.policyChange(toNetworkPolicy(o))),
          update: (o) => apply('policy', () => this.policyChange(toNetworkPolicy(o))),
          delete: (o) =>
            apply('policy', () => this.policyDelete(o.metadata?.namespace ?? '', o.metadata?.name ?? '')),
        },
      ) as unknown as ResilientInformer<k8s.KubernetesObject>,
    );
    // ClusterNetworkPolicy is a CRD: without it (or without the RBAC to read it) there are none, and
    // the controller goes on. It is looked for once at start: a CRD installed later needs a restart.
    const cnpMissing = await listClusterPolicies(this.kc, { limit: 1 }).then(
      () => undefined,
      (e: unknown) => unavailableReason(e),
    );
    if (cnpMissing !== undefined) log.info({ resource: 'clusternetworkpolicies' }, cnpMissing);
    else {
      this.cnpInformer = new ResilientInformer<RawClusterPolicy>(
        this.kc,
        {
          ...common('clusternetworkpolicies'),
          path: CNP_PATH,
          list: (page) => listClusterPolicies(this.kc, page),
          transform: withoutManagedFields,
        },
        {
          add: (o) => apply('cluster-policy', () => this.clusterPolicyChange(toClusterNetworkPolicy(o))),
          update: (o) => apply('cluster-policy', () => this.clusterPolicyChange(toClusterNetworkPolicy(o))),
          delete: (o) => apply('cluster-policy', () => this.clusterPolicyDelete(o.metadata?.name ?? '')),
        },
      ) as unknown as ResilientInformer<k8s.KubernetesObject>;
      this.informers.push(this.cnpInformer);
    }
    await Promise.all(this.informers.map((i) => i.start()));
    // Synchronous from here to `bulkLoading = false`: no event can slip between the caches and the load.
    // The canary's stand-in pods (never created: probe pods imitate them) and its policy live in the
    // engine beside the cluster's objects, so a round plans them like any class.
    this.engine = ExpectationEngine.from(
      this.roundInput(this.options.canary),
      this.options.profile,
      this.engineOptions(),
    );
    for (const issue of this.engine.loadIssues)
      log.warn(
        { object: `${issue.kind} ${issue.namespace}/${issue.name}`, field: issue.field },
        issue.message,
      );
    this.bulkLoading = false;
    this.reportAdminCover();
    this.elector.start();
  }

  private clusterPolicyChange(cnp: ClusterNetworkPolicy): Change {
    const change = this.engine.upsertClusterPolicy(cnp);
    this.trackEnforcement(change);
    this.reportAdminCover();
    return change;
  }

  private clusterPolicyDelete(name: string): Change {
    const change = this.engine.deleteClusterPolicy(name);
    this.trackEnforcement(change);
    this.reportAdminCover();
    return change;
  }

  /**
   * Admin-tier Deny rules over netaudit's own namespace or its canary: no NetworkPolicy can undo them,
   * so they are said out loud (log and gauge) instead of silently narrowing what netaudit can see.
   */
  private reportAdminCover(): void {
    const { namespace, canary, canaryNamespace, logger, metrics } = this.options;
    const watched = [namespace, ...(canary ? [canaryNamespace] : [])];
    const covers = adminDenialsOver(this.engine, watched);
    for (const ns of watched)
      metrics.adminDenyRules.set(
        { namespace: ns },
        covers.find((c) => c.namespace === ns)?.rules.length ?? 0,
      );
    const signature = coverSignature(covers);
    if (signature === this.adminCover) return;
    this.adminCover = signature;
    for (const c of covers)
      logger.warn(
        { namespace: c.namespace, rules: c.rules },
        "Admin-tier ClusterNetworkPolicy Deny rules cover netaudit's namespace; NetworkPolicy cannot override them (the canary's expectations include them)",
      );
    if (covers.length === 0)
      logger.info(
        { namespaces: watched },
        "no Admin-tier ClusterNetworkPolicy Deny rule covers netaudit's namespaces",
      );
  }

  private policyChange(np: NetworkPolicy): Change {
    const change = this.engine.upsertPolicy(np);
    this.trackEnforcement(change);
    return change;
  }

  private policyDelete(namespace: string, name: string): Change {
    const change = this.engine.deletePolicy(namespace, name);
    this.trackEnforcement(change);
    return change;
  }

  private engineOptions(): EngineOptions {
    return {
      ...(this.options.ports ? { ports: this.options.ports } : {}),
      externals: this.options.externals,
    };
  }

  private standingSignatures(): Map<
    string,
    { from: string; to: string; port: number; protocol: Protocol; signature: string | undefined }
  > {
    const out = new Map<
      string,
      { from: string; to: string; port: number; protocol: Protocol; signature: string | undefined }
    >();
    for (const c of this.standingCells)
      out.set(c.key, { ...c, signature: this.engine.cellSignature(c.from, c.to, c.port, c.protocol) });
    return out;
  }

  private trackEnforcement(change: Change): void {
    // Only the leader observes enforcement; a follower would only accumulate.
    const classes = new Set<string>([...change.sources, ...change.destinations]);
    if (classes.size === 0 || !this.leading) return;
    if (this.pendingEnforcement.length >= MAX_PENDING_ENFORCEMENT) this.pendingEnforcement.shift();
    this.pendingEnforcement.push({ at: Date.now(), classes });
  }

  private noteChange(what: string, change: Change): void {
    for (const issue of change.issues) {
      this.options.logger.warn(
        { object: `${issue.kind} ${issue.namespace}/${issue.name}`, field: issue.field },
        issue.message,
      );
    }
    const touched = [
      ...change.classesAdded,
      ...change.classesRemoved,
      ...change.sources,
      ...change.destinations,
    ];
    if (touched.length === 0 && !change.repartitioned) return;
    if (touched.length === 0 && !change.repartitioned) return;
    for (const tracker of this.trackers) {
      for (const c of touched) tracker.changed.add(c);
      if (change.repartitioned) tracker.repartitioned = true;
    }
    this.options.logger.debug({ what, classes: touched.length }, 'change');
    this.lastChange = Date.now();
    this.pendingChange = true;
    this.wakeAll();
  }

  /** Sleeps until `due()` (recomputed on every wake: a change brings a round forward), or leadership/shutdown changes. */
  private async sleepUntil(due: () => number): Promise<void> {
    for (;;) {
      if (this.stopped || !this.leading) return;
      const wait = due() - Date.now();
      if (wait <= 0) return;
      await this.nap(wait);
    }
  }

  /** One sleep that a change, a shutdown or a leadership change cuts short. */
  private nap(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** 0 when canary checks are off (no canary, or too many nodes for the budget): full rounds probe it then. */
  private get canaryCheckMs(): number {
    return this.options.canary && canaryChecksFit(this.schedulableNodes, this.options.maxProbePods)
      ? this.options.canaryIntervalMs
      : 0;
  }

  private async track(run: Promise<void>): Promise<void> {
    this.inFlight.add(run);
    try {
      await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async lead(previous: string | undefined): Promise<void> {
    const log = this.options.logger;
    if (this.options.canary)
      await this.ensureCanary().catch((e) => log.error({ err: String(e) }, 'canary policy'));
    await Promise.all([this.fullRounds(previous), this.canaryChecks()]);
  }

  private async fullRounds(previous: string | undefined): Promise<void> {
    let lastRound = 0;
    let first = true;
    while (this.leading && !this.stopped) {
      if (!first)
        await this.sleepUntil(() =>
          nextFullRound(
            { lastRound, pendingChangeAt: this.pendingChange ? this.lastChange : undefined },
            { intervalMs: this.options.intervalMs, settleMs: this.options.settleMs },
          ),
        );
      first = false;
      if (!this.leading || this.stopped) break;
      if (!this.informers.every((i) => i.isSynced)) {
        // Caches are stale (API server away): no round on stale data; try again shortly.
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      lastRound = Date.now();
      this.pendingChange = false;
      await this.track(this.round(previous));
      previous = undefined;
    }
  }

  /**
   * Canary checks beside the full rounds, every --canary-interval: a busy cluster's long rounds do
   * not delay them, so a node that stops enforcing is caught within about one interval and one check.
   */
  private async canaryChecks(): Promise<void> {
    let last = Number.NEGATIVE_INFINITY;
    while (this.leading && !this.stopped) {
      const every = this.canaryCheckMs;
      if (every === 0) {
        // Off (no canary, or over budget on this many nodes): full rounds probe the canary; look again later.
        if (!this.options.canary) return;
        await this.nap(30_000);
        continue;
      }
      await this.sleepUntil(() => nextCanaryCheck(last, every, Date.now()));
      if (!this.leading || this.stopped) break;
      if (!this.informers.every((i) => i.isSynced)) {
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      // A sweep that started before this check would not spare its pods (its selector names the runs then under way).
      await this.sweeping;
      last = Date.now();
      await this.track(this.canaryCheck());
    }
  }

  private async ensureCanary(): Promise<void> {
    const net = this.kc.makeApiClient(k8s.NetworkingV1Api);
    const namespace = this.options.canaryNamespace;
    const body = toClientNetworkPolicy(canaryPolicy(namespace));
    try {
      const existing = await net.readNamespacedNetworkPolicy({ name: CANARY_POLICY, namespace });
      await net.replaceNamespacedNetworkPolicy({
        name: CANARY_POLICY,
        namespace,
        body: {
          ...body,
          metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion ?? '' },
        },
      });
    } catch (e) {
      if (!isNotFound(e))
        throw kubeError({ verb: 'update', resource: 'networkpolicies', namespace, name: CANARY_POLICY }, e);
      await net.createNamespacedNetworkPolicy({ namespace, body });
    }
  }

  /** What the caches hold, in the engine's shapes. */
  private cachedObjects(): {
    namespaces: Namespace[];
    pods: Pod[];
    policies: NetworkPolicy[];
    clusterPolicies: ClusterNetworkPolicy[];
  } {
    const [nsInf, podInf, npInf] = this.informers as [
      ResilientInformer<k8s.KubernetesObject>,
      ResilientInformer<k8s.KubernetesObject>,
      ResilientInformer<k8s.KubernetesObject>,
    ];
    return {
      namespaces: nsInf.list().map((o) => toNamespace(o as k8s.V1Namespace)),
      pods: podInf.list().map((o) => toPod(o as k8s.V1Pod)),
      policies: npInf.list().map((o) => toNetworkPolicy(o as k8s.V1NetworkPolicy)),
      clusterPolicies: (this.cnpInformer?.list() ?? []).map((o) =>
        toClusterNetworkPolicy(o as RawClusterPolicy),
      ),
    };
  }

  private roundInput(withCanary: boolean): {
    namespaces: Namespace[];
    pods: Pod[];
    policies: NetworkPolicy[];
    clusterPolicies: ClusterNetworkPolicy[];
  } {
    const { namespaces, pods, policies, clusterPolicies } = this.cachedObjects();
    if (withCanary) {
      const canary = this.options.canaryNamespace;
      pods.push(...canaryPods(canary));
      if (!policies.some((p) => p.metadata.namespace === canary && p.metadata.name === CANARY_POLICY)) {
        policies.push(canaryPolicy(canary));
      }
      if (!namespaces.some((n) => n.metadata.name === canary))
        namespaces.push({ metadata: { name: canary } });
    }
    return { namespaces, pods, policies, clusterPolicies };
  }

  /** Every namespace probe pods may have run in (the canary's included): where owners are swept. */
  private probedNamespaces(): string[] {
    const { includeNamespaces: include, excludeNamespaces, canaryNamespace } = this.options;
    const exclude = new Set(excludeNamespaces);
    const names = (this.informers[0]?.list() ?? [])
      .map((o) => o.metadata?.name ?? '')
      .filter((n) => n !== '' && !exclude.has(n) && (include.length === 0 || include.includes(n)));
    return [...new Set([...names, canaryNamespace])];
  }

  private scopeNamespaces(all: readonly string[], withCanary: boolean): string[] {
    const include = this.options.includeNamespaces;
    const exclude = new Set(this.options.excludeNamespaces);
    const names = all.filter((n) => !exclude.has(n));
    const scoped = include.length > 0 ? names.filter((n) => include.includes(n)) : names;
    const canary = this.options.canaryNamespace;
    if (withCanary && !scoped.includes(canary)) scoped.push(canary);
    // While canary checks run beside the rounds, the canary is theirs: a round does not probe it twice.
    return withCanary ? scoped : scoped.filter((n) => n !== canary);
  }

  /**
   * Creates a round's probe pods, probes and cleans up. A full round first deletes probe pods left
   * by an earlier leader or run; a canary check probes only the canary namespace (no Services or
   * PodDisruptionBudgets live there, so it lists neither).
   */
  private async probeRound(kind: RoundKind, previousLeader: string | undefined): Promise<Probed> {
    const { logger, metrics } = this.options;
    const runId = randomBytes(3).toString('hex');
    const log = logger.child({ round: runId, ...(kind === 'canary' ? { kind } : {}) });
    const started = Date.now();
    const tracker: ChangeTracker = { changed: new Set(), repartitioned: false };
    this.trackers.add(tracker);
    this.activeRuns.add(runId);
    // A canary check always probes the canary; a full round only while the checks are off.
    const withCanary = this.options.canary && (kind === 'canary' || this.canaryCheckMs === 0);
    let outcome: RoundOutcome = 'completed';
    let report: RoundReport | undefined;
    let candidates: readonly NodeCandidate[] = [];
    const serverDeadlineMs = this.options.podTimeoutMs * 3 + 180_000;
    const servers = this.keptServers();
    const canaryNs = this.options.canaryNamespace;
    servers.claim(runId, (ns) => (kind === 'canary' ? ns === canaryNs : withCanary || ns !== canaryNs));
    const runner = new KubeProbeRunner(
      this.kc,
      {
        image: this.options.image,
        instance: this.options.instance,
        runId,
        profile: this.options.profile,
        concurrency: this.options.concurrency,
        perSecond: this.options.rate,
        serverDeadlineSeconds: Math.ceil(serverDeadlineMs / 1000),
        clientDeadlineSeconds: clientDeadlineSeconds(this.options),
        waitTimeoutMs: this.options.podTimeoutMs,
        pollMs: 1000,
        logger: log,
      },
      servers,
    );
    this.runners.add(runner);
    try {
      if (kind === 'full') {
        // Probe pods of an earlier round (a killed replica, a dead leader) go first.
        const sweep = deleteOrphans(
          this.kc,
          this.options.instance,
          [...this.activeRuns, servers.setId],
          log,
          this.ownersSwept ? [] : this.probedNamespaces(),
        );
        this.ownersSwept = true;
        this.sweeping = sweep.catch(() => undefined);
        const orphans = await sweep;
        if (orphans > 0 || previousLeader)
          log.info({ orphans, previousLeader }, 'deleted probe pods left by an earlier leader or run');
      }
      const core = this.kc.makeApiClient(k8s.CoreV1Api);
      const policyApi = this.kc.makeApiClient(k8s.PolicyV1Api);
      const [nodes, services, budgets] = await Promise.all([
        core.listNode(),
        kind === 'full' ? core.listServiceForAllNamespaces() : { items: [] },
        kind === 'full' ? policyApi.listPodDisruptionBudgetForAllNamespaces() : { items: [] },
      ]);
      const scope = nodeScope(nodes.items.map(nodeInfo), this.options.nodeScope);
      candidates = scope.all;
      const schedulable = [...scope.probe];
      metrics.nodesSchedulable.set(schedulable.length);
      const { maxProbePods, canaryIntervalMs } = this.options;
      const fit = (n: number) => canaryChecksFit(n, maxProbePods);
      if (
        this.options.canary &&
        canaryIntervalMs > 0 &&
        fit(schedulable.length) !== fit(this.schedulableNodes)
      )
        log.info(
          { nodes: schedulable.length, canaryPods: CANARY_PODS_PER_NODE * schedulable.length, maxProbePods },
          fit(schedulable.length)
            ? 'canary checks between rounds are on'
            : 'canary checks between rounds are off: on this many nodes they would take over a quarter of --max-probe-pods',
        );
      this.schedulableNodes = schedulable.length;
      // The controller's engine holds the expectations, kept current by the informers: a round plans
      // from it without rebuilding anything. Only a canary check under fixed --port values needs the
      // canary's own default ports, and builds a small engine for it.
      const ownEngine = kind === 'full' || this.options.ports === undefined;
      const cluster = ownEngine ? EMPTY_CLUSTER : this.roundInput(true);
      const guards = guardsFor(
        services.items.map((s) => ({
          namespace: s.metadata?.namespace ?? '',
          name: s.metadata?.name ?? '',
          selector: s.spec?.selector,
          publishNotReadyAddresses: s.spec?.publishNotReadyAddresses === true,
        })),
        budgets.items.map((b) => ({
          namespace: b.metadata?.namespace ?? '',
          name: b.metadata?.name ?? '',
          selector: b.spec?.selector as never,
        })),
      );
      report = await runRound(
        { cluster, engine: ownEngine ? this.engine : undefined, nodes: schedulable, guards },
        runner,
        {
          profile: this.options.profile,
          externals: kind === 'full' ? this.options.externals : [],
          ports: kind === 'full' ? this.options.ports : undefined,
          namespaces:
            kind === 'full'
              ? this.scopeNamespaces(
                  this.engine.namespaceList().map((n) => n.name),
                  withCanary,
                )
              : [this.options.canaryNamespace],
          timeoutMs: this.options.timeoutMs,
          attempts: this.options.attempts,
          confirmAttempts: this.options.confirmAttempts,
          clientDelayMs: this.options.clientDelayMs,
          settleMs: 1000,
          rotation: {
            maxProbePods: this.options.maxProbePods,
            canaryNamespace: withCanary ? this.options.canaryNamespace : undefined,
            cursor: this.cursor,
          },
        },
      );
      metrics.serversReused.inc(report.summary.serversReused);
      if (!this.informers.every((i) => i.isSynced) || !this.leading) outcome = 'aborted';
    } catch (e) {
      outcome = this.informers.every((i) => i.isSynced) && this.leading ? 'failed' : 'aborted';
      log.error({ err: e instanceof Error ? e.message : String(e), outcome }, 'round did not complete');
    } finally {
      await runner
        .cleanup()
        .catch((e) => log.warn({ err: String(e) }, 'cleanup failed; the next round deletes the orphans'));
      this.runners.delete(runner);
      this.activeRuns.delete(runId);
      this.trackers.delete(tracker);
      metrics.probePods.inc(runner.podsCreated);
      servers.release(runId);
    }
    const { changed } = tracker;
    const seconds = (Date.now() - started) / 1000;
    if (outcome !== 'completed' || !report) {
      log.warn({ outcome, seconds }, 'round ended without results');
      return { outcome, withCanary, report: undefined, changed, seconds, started, log, nodes: candidates };
    }
    if (tracker.repartitioned) {
      log.info('policies changed what classes mean during the round: results discarded, next round soon');
      this.pendingChange = true;
      return { outcome, withCanary, report: undefined, changed, seconds, started, log, nodes: candidates };
    }
    return { outcome, withCanary, report, changed, seconds, started, log, nodes: candidates };
  }

  /** This round's findings and the conclusive probes that can clear a standing one (changed classes excluded). */
  private conclusive(report: RoundReport, changed: ReadonlySet<string>) {
    const unchanged = (from: string, to: string | undefined) =>
      !changed.has(from) && !(to && changed.has(to));
    return {
      findings: report.mismatches.filter((f: Finding) => unchanged(f.fromClass, f.toClass)),
      probed: report.probes.filter((p) => p.conclusive && unchanged(p.fromClass, p.toClass)),
    };
  }

  private async round(previousLeader: string | undefined): Promise<void> {
    const { metrics } = this.options;
    const { outcome, withCanary, report, changed, seconds, started, log, nodes } = await this.probeRound(
      'full',
      previousLeader,
    );
    metrics.rounds.inc({ outcome });
    metrics.lastRound.set(Date.now() / 1000);
    if (!report) return;
    const { findings, probed } = this.conclusive(report, changed);
    const discarded = report.mismatches.length - findings.length;
    const { rotation } = report;
    await this.serialized(async () => {
      // A round without the canary leaves the canary's findings to the checks that probe it.
      const standing = this.restand((f) => withCanary || !this.inCanary(f), report, findings, probed);
      this.changedVerdicts = new Set();
      this.cursor = rotation.nextCursor;
      if (rotation.overBudget)
        log.warn(
          { probePods: rotation.probePods, maxProbePods: this.options.maxProbePods },
          'the canary (on every node) or the least a rotation needs exceeds --max-probe-pods: raise it',
        );
      metrics.recordRound({ ...report, mismatches: standing }, seconds);
      metrics.lastSuccessfulRound.set(Date.now() / 1000);
      this.observeEnforcement(findings, probed, started);
      await this.publish(standing);
      await this.updateNodes(report, findings, changed, nodes, log, started);
      log.info(
        {
          ...report.summary,
          mismatches: findings.length,
          standing: standing.length,
          discarded,
          seconds,
          coverage: rotation.coverage,
          withCanary,
        },
        'round completed',
      );
    });
  }

  /**
   * A canary check: its findings replace the standing findings inside the canary; every other
   * standing finding is kept as it is until the next full round.
   */
  private async canaryCheck(): Promise<void> {
    const { metrics } = this.options;
    const { outcome, report, changed, seconds, log, nodes, started } = await this.probeRound(
      'canary',
      undefined,
    );
    metrics.canaryChecks.inc({ outcome });
    if (!report) return;
    const { findings, probed } = this.conclusive(report, changed);
    await this.serialized(async () => {
      const standing = this.restand((f) => this.inCanary(f), report, findings, probed);
      for (const p of report.probes) metrics.probes.inc({ result: p.observed });
      metrics.flaky.inc(report.summary.flaky);
      metrics.setMismatches(standing);
      await this.publish(standing);
      await this.updateNodes(report, findings, changed, nodes, log, started);
      const level = findings.length > 0 ? 'warn' : 'debug';
      log[level](
        { ...report.summary, mismatches: findings.length, standing: standing.length, seconds },
        'canary check completed',
      );
    });
  }

  /**
   * The standing findings after a run: those it owns (`mine`) as standingFindings makes them, the rest
   * as they stood. Only a conclusive probe clears a standing mismatch, and not one of a class that
   * changed mid-run (its findings were discarded by `conclusive`).
   */
  private restand(
    mine: (f: Finding) => boolean,
    report: RoundReport,
    findings: Finding[],
    probed: RoundReport['probes'],
  ): Finding[] {
    return [
      ...this.standing.filter((f) => !mine(f)),
      ...standingFindings({
        previous: this.standing.filter(mine),
        current: findings,
        probed,
        classes: new Set(report.rotation.assignment.keys()),
        nodes: new Set(report.rotation.nodes),
        changedVerdicts: this.changedVerdicts,
      }),
    ];
  }

  /** The canary's classes probe one another only, so a finding is the canary's when its source is. */
  private inCanary(f: Finding): boolean {
    return f.from.startsWith(`${this.options.canaryNamespace}/`);
  }

  /** Runs `fn` after every earlier caller's: full rounds and canary checks end in any order. */
  private serialized(fn: () => Promise<void>): Promise<void> {
    const next = this.publishing.then(fn);
    this.publishing = next.catch(() => undefined);
    return next;
  }

  /** Keeps the standing findings, and publishes them as Events (within the Event limits). */
  private async publish(standing: Finding[]): Promise<void> {
    const { metrics } = this.options;
    this.standing = standing;
    this.standingCells = standing.map((f) => ({
      key: verdictKey(f.fromClass, f.toClass ?? f.to, f.port, f.protocol),
      from: f.fromClass,
      to: f.toClass ?? f.to,
      port: f.port,
      protocol: f.protocol,
    }));
    // Standing findings, not this round's: a flow off the rotation window is not "restored".
    const published = await this.events.publish(standing);
    metrics.events.inc({ outcome: 'created' }, published.created);
    metrics.events.inc({ outcome: 'series_updated' }, published.updated);
    metrics.events.inc({ outcome: 'restored' }, published.restored);
    metrics.events.inc({ outcome: 'deferred' }, published.deferred);
    metrics.events.inc({ outcome: 'error' }, published.errors);
  }

  /**
   * Node verdicts from a run's own probes (classes changed mid-run left out), merged with what earlier
   * runs showed; a Warning `NodeNotEnforcing` when a node stops enforcing, a Normal `NodeEnforcing`
   * when it is back.
   */
  private async updateNodes(
    report: RoundReport,
    findings: readonly Finding[],
    changed: ReadonlySet<string>,
    nodes: readonly NodeCandidate[],
    log: Logger,
    probedAt: number,
  ): Promise<void> {
    const verdicts = diagnoseNodes({
      nodes,
      probes: report.probes.filter(
        (p) => !changed.has(p.fromClass) && !(p.toClass && changed.has(p.toClass)),
      ),
      mismatches: findings,
      inconclusive: report.inconclusive,
      failedPods: report.failedPods,
      planned: new Set([...report.rotation.assignment.values()].flat()),
    });
    if (!this.nodesAdopted) {
      // A node an earlier leader reported broken is broken until shown otherwise: no second
      // Warning if it still is, and its NodeEnforcing if it recovered while no leader watched.
      try {
        const prior = new Map(this.nodeVerdicts);
        for (const e of await this.events.openNodeWarnings()) {
          const name = e.regarding?.name;
          if (name && !prior.has(name)) prior.set(name, reportedBroken(name));
        }
        this.nodeVerdicts = prior;
        this.nodesAdopted = true;
      } catch (err) {
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'could not read open NodeNotEnforcing events',
        );
      }
    }
    const next = mergeNodeVerdicts(this.nodeVerdicts, verdicts, { probedAt, previousAt: this.nodeProbedAt });
    for (const v of verdicts) if (next.get(v.name) === v) this.nodeProbedAt.set(v.name, probedAt);
    const { broke, recovered } = nodeTransitions(this.nodeVerdicts, next);
    this.nodeVerdicts = next;
    this.options.metrics.setNodeVerdicts(next.values());
    const events = [
      ...broke.map((v) => ({
        v,
        type: 'Warning' as const,
        reason: REASON_NODE_NOT_ENFORCING,
        note: `${v.name} is ${v.status === 'partial' ? 'only partly enforcing' : 'not enforcing'} NetworkPolicy: ${nodeReason(v)}`,
      })),
      ...recovered.map((v) => ({
        v,
        type: 'Normal' as const,
        reason: REASON_NODE_ENFORCING,
        note: `${v.name} enforces NetworkPolicy again: ${nodeReason(v)}`,
      })),
    ];
    for (const e of events) {
      log[e.type === 'Warning' ? 'warn' : 'info']({ node: e.v.name, status: e.v.status }, e.note);
      try {
        await this.events.node(e.v.name, e.type, e.reason, e.note);
        this.options.metrics.events.inc({ outcome: 'created' });
      } catch (err) {
        this.options.metrics.events.inc({ outcome: 'error' });
        log.error(
          { err: err instanceof Error ? err.message : String(err), node: e.v.name },
          'could not record event',
        );
      }
    }
  }

  private observeEnforcement(
    findings: readonly Finding[],
    probed: RoundReport['probes'],
    roundStart: number,
  ): void {
    const enforced = new Set(
      enforcedChanges(this.pendingEnforcement, {
        started: roundStart,
        mismatched: new Set(findings.flatMap((f) => [f.fromClass, f.toClass ?? ''])),
        probed: new Set(probed.flatMap((p) => [p.fromClass, ...(p.toClass ? [p.toClass] : [])])),
      }),
    );
    for (const p of enforced) this.options.metrics.enforcementLatency.observe((Date.now() - p.at) / 1000);
    this.pendingEnforcement.splice(
      0,
      this.pendingEnforcement.length,
      ...this.pendingEnforcement.filter((p) => !enforced.has(p)),
    );
  }

  /**
   * The server set of this leadership term, made on first use. A server lives at most an hour (the
   * admission policy's bound); one with less left than a round may take is replaced first.
   */
  private keptServers(): KubeServerSet {
    this.servers ??= new KubeServerSet(this.kc, {
      image: this.options.image,
      instance: this.options.instance,
      profile: this.options.profile,
      concurrency: this.options.concurrency,
      perSecond: this.options.rate,
      lifetimeSeconds: SERVER_LIFETIME_SECONDS,
      minRemainingMs: this.options.podTimeoutMs * 3 + 180_000 + this.options.intervalMs,
      waitTimeoutMs: this.options.podTimeoutMs,
      pollMs: 1000,
      logger: this.options.logger,
    });
    return this.servers;
  }

  /** Ends the round cleanly (its probe pods deleted), releases the Lease, stops the watches. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeAll();
    await Promise.all([...[...this.runners].map((r) => r.cleanup()), this.servers?.cleanup()]);
    await Promise.all([...this.inFlight].map((run) => run.catch(() => undefined)));
    await this.elector.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

// What the informer caches keep: they hold every object for the life of the process, and
// managedFields alone is often a third of an object. A Pod keeps only what toPod reads (plus the
// name, namespace and resourceVersion the cache keys and compares by): a real Pod is ~7 KB of JSON,
// mostly spec and status fields netaudit never looks at.
function withoutManagedFields<T extends k8s.KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

function cachedPod(pod: k8s.V1Pod): k8s.V1Pod {
  const m = pod.metadata;
  const spec = pod.spec;
  const status = pod.status;
  return {
    ...(pod.apiVersion !== undefined ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind !== undefined ? { kind: pod.kind } : {}),
    metadata: {
      ...(m?.name !== undefined ? { name: m.name } : {}),
      ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
      ...(m?.uid !== undefined ? { uid: m.uid } : {}),
      ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m?.labels !== undefined ? { labels: m.labels } : {}),
    },
    ...(spec
      ? {
          spec: {
            containers: (spec.containers ?? []).map((c) => ({
              name: c.name,
              ...(c.image !== undefined ? { image: c.image } : {}),
              ...(c.ports !== undefined
                ? {
                    ports: c.ports.map((p) => ({
                      containerPort: p.containerPort,
                      ...(p.name !== undefined ? { name: p.name } : {}),
                      ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
                    })),
                  }
                : {}),
            })),
            ...(spec.hostNetwork !== undefined ? { hostNetwork: spec.hostNetwork } : {}),
            ...(spec.nodeName !== undefined ? { nodeName: spec.nodeName } : {}),
          },
        }
      : {}),
    ...(status
      ? {
          status: {
            ...(status.phase !== undefined ? { phase: status.phase } : {}),
            ...(status.podIP !== undefined ? { podIP: status.podIP } : {}),
            ...(status.podIPs !== undefined ? { podIPs: status.podIPs.map((p) => ({ ip: p.ip })) } : {}),
            ...(status.hostIP !== undefined ? { hostIP: status.hostIP } : {}),
          },
        }
      : {}),
  };
}

export function defaultIdentity(): string {
  return process.env.POD_NAME ?? `netaudit-${randomBytes(4).toString('hex')}`;
}
