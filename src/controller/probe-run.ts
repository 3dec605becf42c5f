// One probing run of the controller, a full round or a canary check: sweep what earlier runs left
// (full rounds), read nodes and what guards workloads, plan from the engine, probe through the
// kept servers and fresh clients, clean up the clients. It says what it saw; it decides nothing
// about findings (findings.ts and the publisher do).
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { guardsFor } from '../audit/guards.ts';
import { nodeScope } from '../audit/node-scope.ts';
import type { NodeCandidate } from '../audit/nodes.ts';
import { type ProbeSettings, probePodDeadlines } from '../audit/probe-settings.ts';
import { type RoundReport, runRound } from '../audit/round.ts';
import type { ExpectationEngine } from '../expect/engine.ts';
import { apiFailure, formatApiFailure } from '../kube/errors.ts';
import { deleteOrphans, KubeProbeRunner } from '../kube/launcher.ts';
import { nodeInfo } from '../kube/read-cluster.ts';
import type { KubeServerSet } from '../kube/server-set.ts';
import type { CniProfile } from '../policy/profiles.ts';
import type { ProbeRunner } from '../probe/runner.ts';
import type { Metrics } from '../report/metrics.ts';
import { CANARY_PODS_PER_NODE, canaryChecksFit } from './canary.ts';
import type { CachedObjects } from './cluster-cache.ts';
import type { RoundKind } from './schedule.ts';

export type RunOutcome = 'completed' | 'aborted' | 'failed';

/** What changed while one run probed: its results there are not trusted. */
export interface ChangeTracker {
  readonly changed: Set<string>;
  repartitioned: boolean;
}

export interface Probed {
  readonly outcome: RunOutcome;
  /** The canary was part of this run (a canary check, or a full round while checks are off). */
  readonly withCanary: boolean;
  /** Undefined when the run did not complete, or its results were discarded. */
  readonly report: RoundReport | undefined;
  /** Classes that changed while it ran: their results are not trusted. */
  readonly changed: ReadonlySet<string>;
  readonly seconds: number;
  readonly started: number;
  readonly log: Logger;
  /** Every node of the cluster, with the reason it was left out of this run if it was. */
  readonly nodes: readonly NodeCandidate[];
  /** Policies changed what classes mean while it ran: its results were discarded, run again soon. */
  readonly repartitioned: boolean;
}

export interface ProbeRunOptions extends ProbeSettings {
  readonly profile: CniProfile;
  /** Probe pods of every replica share this instance label, so a new leader finds the old one's. */
  readonly instance: string;
  readonly includeNamespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly canary: boolean;
  readonly canaryNamespace: string;
  /** Canary-only checks between full rounds, so a node that stops enforcing is caught within about this (0: off). */
  readonly canaryIntervalMs: number;
  /** Probe pods a round may plan; past it user classes rotate over the nodes. Undefined: no budget. */
  readonly maxProbePods: number | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What a run needs of the rest of the controller. */
export interface RunContext {
  readonly engine: () => ExpectationEngine;
  readonly synced: () => boolean;
  readonly leading: () => boolean;
  /** The canary's objects beside the cluster's, for a check under fixed --port values. */
  readonly objectsWithCanary: () => CachedObjects;
  readonly namespaceNames: () => string[];
  readonly servers: () => KubeServerSet;
  /** Where the rotation's window starts this run. */
  readonly cursor: () => number;
  /** 0 when canary checks are off: full rounds then probe the canary themselves. */
  readonly canaryCheckMs: () => number;
  /** Who probes (tests pass a simulated runner); by default probe pods in the cluster. */
  readonly runner?: (runId: string, log: Logger, servers: KubeServerSet) => ProbeRunner;
}

const EMPTY_CLUSTER = { namespaces: [], pods: [], policies: [] } as const;

/** The pause after new servers start, before clients probe them (the CNI programs them everywhere). */
export const SERVER_PAUSE_MS = 1000;

export class ProbeRuns {
  private readonly kc: k8s.KubeConfig;
  private readonly options: ProbeRunOptions;
  private readonly ctx: RunContext;
  private readonly runners = new Set<ProbeRunner>();
  /** Run ids of the runs under way: a full round's orphan sweep spares them. */
  private readonly active = new Set<string>();
  /** One per run under way: classes that changed while it ran have their results discarded. */
  private readonly trackers = new Set<ChangeTracker>();
  /** A full round's sweep of orphaned probe pods: a canary check waits for it before creating its own. */
  private sweepingNow: Promise<unknown> = Promise.resolve();
  /** Owner ConfigMaps without pods were swept by label this leadership term (no ConfigMap list in RBAC). */
  private ownersSwept = false;
  /** Schedulable nodes at the last full round or check: what a canary check would cost. */
  private schedulable = 0;

  constructor(kc: k8s.KubeConfig, options: ProbeRunOptions, ctx: RunContext) {
    this.kc = kc;
    this.options = options;
    this.ctx = ctx;
  }

  get schedulableNodes(): number {
    return this.schedulable;
  }

  get sweeping(): Promise<unknown> {
    return this.sweepingNow;
  }

  /** A new leadership term: owners are swept again at its first round. */
  newTerm(): void {
    this.ownersSwept = false;
  }

  /** Classes a change touched: runs under way distrust their results there. */
  noteChanged(classes: readonly string[], repartitioned: boolean): void {
    for (const tracker of this.trackers) {
      for (const c of classes) tracker.changed.add(c);
      if (repartitioned) tracker.repartitioned = true;
    }
  }

  /** Ends every run under way (shutdown, lost leadership): their probe pods are deleted. */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.runners].map((r) => r.cleanup()));
  }

  /**
   * Creates a run's client pods, probes through the kept servers and cleans up. A full round first
   * deletes probe pods left by an earlier leader or run; a canary check probes only the canary
   * namespace (no Services or PodDisruptionBudgets live there, so it lists neither).
   */
  async run(kind: RoundKind, previousLeader: string | undefined): Promise<Probed> {
    const { logger, metrics, canaryNamespace: canaryNs } = this.options;
    const runId = randomBytes(3).toString('hex');
    const log = logger.child({ round: runId, ...(kind === 'canary' ? { kind } : {}) });
    const started = Date.now();
    const tracker: ChangeTracker = { changed: new Set(), repartitioned: false };
    this.trackers.add(tracker);
    this.active.add(runId);
    // A canary check always probes the canary; a full round only while the checks are off.
    const withCanary = this.options.canary && (kind === 'canary' || this.ctx.canaryCheckMs() === 0);
    let outcome: RunOutcome = 'completed';
    let report: RoundReport | undefined;
    let candidates: readonly NodeCandidate[] = [];
    const servers = this.ctx.servers();
    const deadlines = probePodDeadlines(this.options, SERVER_PAUSE_MS);
    servers.claim(runId, (ns) => (kind === 'canary' ? ns === canaryNs : withCanary || ns !== canaryNs));
    const runner =
      this.ctx.runner?.(runId, log, servers) ??
      new KubeProbeRunner(
        this.kc,
        {
          image: this.options.image,
          instance: this.options.instance,
          runId,
          profile: this.options.profile,
          concurrency: this.options.concurrency,
          perSecond: this.options.rate,
          serverDeadlineSeconds: deadlines.serverSeconds,
          clientDeadlineSeconds: deadlines.clientSeconds,
          waitTimeoutMs: this.options.podTimeoutMs,
          pollMs: 1000,
          logger: log,
        },
        servers,
      );
    this.runners.add(runner);
    try {
      if (kind === 'full') await this.sweep(log, previousLeader, servers.setId);
      const { nodes, guards } = await this.readCluster(kind);
      const scope = nodeScope(nodes.map(nodeInfo), this.options.nodeScope);
      candidates = scope.all;
      const schedulable = [...scope.probe];
      metrics.nodesSchedulable.set(schedulable.length);
      this.noteCanaryFit(schedulable.length, log);
      this.schedulable = schedulable.length;
      // The engine holds the expectations, kept current by the watches: a run plans from it without
      // rebuilding anything. Only a canary check under fixed --port values needs the canary's own
      // default ports, and builds a small engine for it.
      const ownEngine = kind === 'full' || this.options.ports === undefined;
      const engine = this.ctx.engine();
      report = await runRound(
        {
          cluster: ownEngine ? EMPTY_CLUSTER : this.ctx.objectsWithCanary(),
          engine: ownEngine ? engine : undefined,
          nodes: schedulable,
          guards,
        },
        runner,
        {
          profile: this.options.profile,
          externals: kind === 'full' ? this.options.externals : [],
          ports: kind === 'full' ? this.options.ports : undefined,
          namespaces:
            kind === 'full'
              ? this.scopeNamespaces(
                  engine.namespaceList().map((n) => n.name),
                  withCanary,
                )
              : [canaryNs],
          timeoutMs: this.options.timeoutMs,
          attempts: this.options.attempts,
          confirmAttempts: this.options.confirmAttempts,
          clientDelayMs: this.options.clientDelayMs,
          settleMs: SERVER_PAUSE_MS,
          rotation: {
            maxProbePods: this.options.maxProbePods,
            canaryNamespace: withCanary ? canaryNs : undefined,
            cursor: this.ctx.cursor(),
          },
        },
      );
      metrics.serversReused.inc(report.summary.serversReused);
      if (!this.ctx.synced() || !this.ctx.leading()) outcome = 'aborted';
    } catch (e) {
      outcome = this.ctx.synced() && this.ctx.leading() ? 'failed' : 'aborted';
      const failure = apiFailure(e);
      // A retryable failure (API server away, throttled) ends this run; a terminal one (RBAC,
      // admission) will end the next ones too until someone fixes it.
      log[failure.retryable ? 'warn' : 'error'](
        { err: formatApiFailure(failure), retryable: failure.retryable, outcome },
        'round did not complete',
      );
    } finally {
      await runner
        .cleanup()
        .catch((e) => log.warn({ err: String(e) }, 'cleanup failed; the next round deletes the orphans'));
      this.runners.delete(runner);
      this.active.delete(runId);
      this.trackers.delete(tracker);
      metrics.probePods.inc(runner.podsCreated);
      servers.release(runId);
    }
    const { changed } = tracker;
    const seconds = (Date.now() - started) / 1000;
    const { repartitioned } = tracker;
    const probed = { outcome, withCanary, changed, seconds, started, log, nodes: candidates, repartitioned };
    if (outcome !== 'completed' || !report) {
      log.warn({ outcome, seconds }, 'round ended without results');
      return { ...probed, report: undefined };
    }
    if (repartitioned) {
      log.info('policies changed what classes mean during the round: results discarded, next round soon');
      return { ...probed, report: undefined };
    }
    return { ...probed, report };
  }

  /** Probe pods of an earlier round (a killed replica, a dead leader) go first. */
  private async sweep(log: Logger, previousLeader: string | undefined, setId: string): Promise<void> {
    const sweep = deleteOrphans(
      this.kc,
      this.options.instance,
      [...this.active, setId],
      log,
      this.ownersSwept ? [] : this.probedNamespaces(),
    );
    this.ownersSwept = true;
    this.sweepingNow = sweep.catch(() => undefined);
    const orphans = await sweep;
    if (orphans > 0 || previousLeader)
      log.info({ orphans, previousLeader }, 'deleted probe pods left by an earlier leader or run');
  }

  private async readCluster(kind: RoundKind) {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const policyApi = this.kc.makeApiClient(k8s.PolicyV1Api);
    const [nodes, services, budgets] = await Promise.all([
      core.listNode(),
      kind === 'full' ? core.listServiceForAllNamespaces() : { items: [] },
      kind === 'full' ? policyApi.listPodDisruptionBudgetForAllNamespaces() : { items: [] },
    ]);
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
    return { nodes: nodes.items, guards };
  }

  private noteCanaryFit(nodes: number, log: Logger): void {
    const { maxProbePods, canaryIntervalMs } = this.options;
    const fit = (n: number) => canaryChecksFit(n, maxProbePods);
    if (this.options.canary && canaryIntervalMs > 0 && fit(nodes) !== fit(this.schedulable))
      log.info(
        { nodes, canaryPods: CANARY_PODS_PER_NODE * nodes, maxProbePods },
        fit(nodes)
          ? 'canary checks between rounds are on'
          : 'canary checks between rounds are off: on this many nodes they would take over a quarter of --max-probe-pods',
      );
  }

  /** Every namespace probe pods may have run in (the canary's included): where owners are swept. */
  private probedNamespaces(): string[] {
    const { includeNamespaces: include, excludeNamespaces, canaryNamespace } = this.options;
    const exclude = new Set(excludeNamespaces);
    const names = this.ctx
      .namespaceNames()
      .filter((n) => !exclude.has(n) && (include.length === 0 || include.includes(n)));
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
}
