// `netaudit controller`: watches Namespaces, Pods, NetworkPolicies (and ClusterNetworkPolicies) into
// the incremental engine, and while it holds the Lease runs audit rounds: periodically and after
// changes (once they settle), with canary checks beside them, publishing mismatches as metrics and
// Events. It never disturbs workloads: everything it creates is a labelled, owned, never-Ready probe
// pod; clients are deleted at the end of their run, servers kept across rounds are deleted on
// shutdown, and (orphans of a dead leader) when it takes over.
//
// This class only composes the parts, each with one job:
//   ClusterCache      watches and the engine fed from them          (cluster-cache.ts)
//   RunLoops          when full rounds and canary checks run         (run-loops.ts, schedule.ts)
//   ProbeRuns         one run: sweep, plan, probe, clean up          (probe-run.ts)
//   KubeServerSet     server probe pods kept across rounds           (src/kube/server-set.ts)
//   FindingsPublisher standing findings, node verdicts, Events       (publisher.ts, findings.ts)
//   LeaderElector     the Lease                                      (src/kube/lease.ts)
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { probePodDeadlines } from '../audit/probe-settings.ts';
import type { Change, EngineOptions } from '../expect/engine.ts';
import { toClientNetworkPolicy } from '../kube/convert.ts';
import { isNotFound, kubeError } from '../kube/errors.ts';
import type { EventLimits } from '../kube/event-limits.ts';
import { EventRecorder, kubeEventSink } from '../kube/events.ts';
import { LeaderElector } from '../kube/lease.ts';
import { KubeServerSet } from '../kube/server-set.ts';
import { adminDenialsOver, coverSignature } from './admin-cover.ts';
import { CANARY_POLICY, canaryChecksFit, canaryPolicy } from './canary.ts';
import { ClusterCache, type ObjectKind } from './cluster-cache.ts';
import { type ProbeRunOptions, ProbeRuns, SERVER_PAUSE_MS } from './probe-run.ts';
import { FindingsPublisher } from './publisher.ts';
import { RunLoops } from './run-loops.ts';

export interface ControllerOptions extends ProbeRunOptions {
  readonly identity: string;
  /** Where the Lease lives (the controller's own namespace). */
  readonly namespace: string;
  readonly leaseName: string;
  readonly intervalMs: number;
  /** Quiet time after a change before the round it triggers. */
  readonly settleMs: number;
  readonly eventLimits: EventLimits;
}

/** Kept server probe pods live at most this long: the admission policy allows probe pods an hour. */
const SERVER_LIFETIME_SECONDS = 3600;

export class Controller {
  private readonly kc: k8s.KubeConfig;
  private readonly options: ControllerOptions;
  private readonly cache: ClusterCache;
  private readonly elector: LeaderElector;
  private readonly publisher: FindingsPublisher;
  private readonly runs: ProbeRuns;
  private readonly loops: RunLoops;
  /** Server probe pods kept across the runs of this leadership term. */
  private servers: KubeServerSet | undefined;
  /** The Admin-tier denials over netaudit's namespaces last reported, to log only changes. */
  private adminCover = '';
  private stopped = false;
  private leading = false;
  /** Full rounds and canary checks under way (they run side by side). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(kc: k8s.KubeConfig, options: ControllerOptions) {
    this.kc = kc;
    this.options = options;
    const events = new EventRecorder(
      kubeEventSink(kc),
      options.identity,
      options.logger,
      options.eventLimits,
    );
    this.publisher = new FindingsPublisher(options, events);
    const engineOptions: EngineOptions = {
      ...(options.ports ? { ports: options.ports } : {}),
      externals: options.externals,
    };
    this.cache = new ClusterCache(
      kc,
      {
        profile: options.profile,
        engine: engineOptions,
        canaryNamespace: options.canary ? options.canaryNamespace : undefined,
        logger: options.logger,
        metrics: options.metrics,
      },
      {
        beforeChange: () => this.publisher.beforeChange(this.cache.engine),
        afterChange: (kind, change) => this.changed(kind, change),
      },
    );
    const running = () => this.leading && !this.stopped;
    this.runs = new ProbeRuns(kc, options, {
      engine: () => this.cache.engine,
      synced: () => this.cache.synced,
      // A run cut short by shutdown is aborted like one cut short by lost leadership.
      leading: running,
      objectsWithCanary: () => this.cache.objects(),
      namespaceNames: () => this.cache.namespaceNames(),
      servers: () => this.keptServers(),
      cursor: () => this.publisher.cursor,
      canaryCheckMs: () => this.canaryCheckMs,
    });
    this.loops = new RunLoops(
      { intervalMs: options.intervalMs, settleMs: options.settleMs },
      {
        running,
        synced: () => this.cache.synced,
        canaryEveryMs: () => this.canaryCheckMs,
        canaryOn: options.canary,
        sweeping: () => this.runs.sweeping,
        fullRound: (previous) => this.track(this.round(previous)),
        canaryCheck: () => this.track(this.canaryCheck()),
      },
    );
    this.elector = new LeaderElector(kc, {
      namespace: options.namespace,
      name: options.leaseName,
      identity: options.identity,
      logger: options.logger,
      onStartedLeading: (previous) => {
        this.leading = true;
        this.runs.newTerm();
        options.metrics.leader.set(1);
        void this.lead(previous);
      },
      onStoppedLeading: () => {
        this.leading = false;
        options.metrics.leader.set(0);
        // The new leader reports from now on, and adopts the open Events; this replica adopts them
        // again if it leads.
        this.publisher.forget();
        void this.runs.cancelAll();
        void this.servers?.cleanup();
        this.servers = undefined;
        this.loops.wakeAll();
      },
    });
  }

  /** Ready: every cache synced and the leader state known. */
  get ready(): boolean {
    return !this.stopped && this.cache.synced && this.elector.state !== 'unknown';
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    await this.cache.start();
    this.reportAdminCover();
    this.elector.start();
  }

  /** Ends the runs under way (their probe pods deleted), deletes kept servers, releases the Lease, stops the watches. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.loops.wakeAll();
    await Promise.all([this.runs.cancelAll(), this.servers?.cleanup()]);
    await Promise.all([...this.inFlight].map((run) => run.catch(() => undefined)));
    await this.elector.stop();
    await this.cache.stop();
  }

  private changed(kind: ObjectKind, change: Change): void {
    this.publisher.afterChange(this.cache.engine);
    // Only the leader observes enforcement; a follower would only accumulate.
    if ((kind === 'policy' || kind === 'cluster-policy') && this.leading)
      this.publisher.trackEnforcement(change);
    if (kind === 'cluster-policy') this.reportAdminCover();
    for (const issue of change.issues)
      this.options.logger.warn(
        { object: `${issue.kind} ${issue.namespace}/${issue.name}`, field: issue.field },
        issue.message,
      );
    const touched = [
      ...change.classesAdded,
      ...change.classesRemoved,
      ...change.sources,
      ...change.destinations,
    ];
    if (touched.length === 0 && !change.repartitioned) return;
    this.runs.noteChanged(touched, change.repartitioned);
    this.options.logger.debug({ what: kind, classes: touched.length }, 'change');
    this.loops.changed();
  }

  /**
   * Admin-tier Deny rules over netaudit's own namespace or its canary: no NetworkPolicy can undo them,
   * so they are said out loud (log and gauge) instead of silently narrowing what netaudit can see.
   */
  private reportAdminCover(): void {
    const { namespace, canary, canaryNamespace, logger, metrics } = this.options;
    const watched = [namespace, ...(canary ? [canaryNamespace] : [])];
    const covers = adminDenialsOver(this.cache.engine, watched);
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

  /** 0 when canary checks are off (no canary, or too many nodes for the budget): full rounds probe it then. */
  private get canaryCheckMs(): number {
    return this.options.canary && canaryChecksFit(this.runs.schedulableNodes, this.options.maxProbePods)
      ? this.options.canaryIntervalMs
      : 0;
  }

  /**
   * The server set of this leadership term, made on first use. A server lives at most an hour (the
   * admission policy's bound); one with less left than a round and an interval may take is replaced first.
   */
  private keptServers(): KubeServerSet {
    this.servers ??= new KubeServerSet(this.kc, {
      image: this.options.image,
      instance: this.options.instance,
      profile: this.options.profile,
      concurrency: this.options.concurrency,
      perSecond: this.options.rate,
      lifetimeSeconds: SERVER_LIFETIME_SECONDS,
      minRemainingMs:
        probePodDeadlines(this.options, SERVER_PAUSE_MS).serverSeconds * 1000 + this.options.intervalMs,
      waitTimeoutMs: this.options.podTimeoutMs,
      pollMs: 1000,
      logger: this.options.logger,
    });
    return this.servers;
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
    if (this.options.canary)
      await this.ensureCanary().catch((e) => this.options.logger.error({ err: String(e) }, 'canary policy'));
    await this.loops.run(previous);
  }

  private async round(previousLeader: string | undefined): Promise<void> {
    const { metrics } = this.options;
    const probed = await this.runs.run('full', previousLeader);
    metrics.rounds.inc({ outcome: probed.outcome });
    metrics.lastRound.set(Date.now() / 1000);
    if (probed.repartitioned) this.loops.again();
    await this.publisher.recordRound(probed);
  }

  private async canaryCheck(): Promise<void> {
    const probed = await this.runs.run('canary', undefined);
    this.options.metrics.canaryChecks.inc({ outcome: probed.outcome });
    if (probed.repartitioned) this.loops.again();
    await this.publisher.recordCanaryCheck(probed);
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
}

export function defaultIdentity(): string {
  return process.env.POD_NAME ?? `netaudit-${randomBytes(4).toString('hex')}`;
}
