// Keeps the controller's standing findings and node verdicts across runs and says them out loud:
// metrics, mismatch Events and node Events. The decisions are findings.ts's pure functions; this
// holds their state between runs, orders runs that end in any order, and does the writes.
import type { ProbeRecord } from '../audit/round.ts';
import type { Finding } from '../core/flow.ts';
import type { Change, ExpectationEngine } from '../expect/engine.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Metrics } from '../report/metrics.ts';
import { enforcedChanges } from './enforcement.ts';
import {
  conclusive,
  inNamespace,
  type NodeState,
  nodesAfterRun,
  restand,
  type StandingCell,
  standingCells,
} from './findings.ts';
import { reportedBroken } from './node-health.ts';
import type { Probed } from './probe-run.ts';

/** Policy changes awaiting proof of enforcement; beyond this the oldest are forgotten. */
const MAX_PENDING_ENFORCEMENT = 256;

export interface PublisherOptions {
  readonly canary: boolean;
  readonly canaryNamespace: string;
  readonly maxProbePods: number | undefined;
  readonly metrics: Metrics;
}

const NO_NODES: NodeState = { verdicts: new Map(), probedAt: new Map() };

export class FindingsPublisher {
  private readonly options: PublisherOptions;
  private readonly events: EventRecorder;
  /** Standing findings are read and replaced by one run at a time (full rounds and checks overlap). */
  private publishing: Promise<void> = Promise.resolve();
  /** The mismatches published by the last recorded run (rotation keeps unprobed ones standing). */
  private standing: Finding[] = [];
  private cells: readonly StandingCell[] = [];
  /** Verdicts (`verdictKey`) changed since the last recorded round: their standing findings are stale. */
  private changedVerdicts = new Set<string>();
  /** Signatures of the standing cells just before a change, to see which verdicts it changed. */
  private before: Map<string, string | undefined> | undefined;
  private nodes: NodeState = NO_NODES;
  /** The nodes an earlier leader left broken (open NodeNotEnforcing Events) were read this term. */
  private nodesAdopted = false;
  /** Policy changes not yet seen enforced: when they happened and which classes they touched. */
  private readonly pendingEnforcement: { at: number; classes: Set<string> }[] = [];
  /** Where the next round's node window starts; moves only when a round's results are recorded. */
  private cursorNow = 0;

  constructor(options: PublisherOptions, events: EventRecorder) {
    this.options = options;
    this.events = events;
  }

  get cursor(): number {
    return this.cursorNow;
  }

  /**
   * Flows with a standing mismatch are compared before and after each change: a finding whose
   * expectation changed is stale. Only those: recording every changed verdict would grow with classes².
   */
  beforeChange(engine: ExpectationEngine): void {
    this.before = new Map(
      this.cells.map((c) => [c.key, engine.cellSignature(c.from, c.to, c.port, c.protocol)]),
    );
  }

  afterChange(engine: ExpectationEngine): void {
    const before = this.before;
    this.before = undefined;
    if (!before) return;
    for (const c of this.cells) {
      if (!before.has(c.key)) continue;
      if (engine.cellSignature(c.from, c.to, c.port, c.protocol) !== before.get(c.key))
        this.changedVerdicts.add(c.key);
    }
  }

  /** A policy change, to be observed enforced by a later round (leader only: a follower would only accumulate). */
  trackEnforcement(change: Change): void {
    const classes = new Set<string>([...change.sources, ...change.destinations]);
    if (classes.size === 0) return;
    if (this.pendingEnforcement.length >= MAX_PENDING_ENFORCEMENT) this.pendingEnforcement.shift();
    this.pendingEnforcement.push({ at: Date.now(), classes });
  }

  /** Leadership lost: the new leader reports from now on, and adopts the open Events. */
  forget(): void {
    const { metrics } = this.options;
    // A stale series here would keep an alert firing (or silence it) after the problem is gone.
    metrics.setMismatches([]);
    this.events.forget();
    this.nodes = NO_NODES;
    this.nodesAdopted = false;
    metrics.setNodeVerdicts([]);
    this.standing = [];
    this.cells = [];
  }

  /** A full round's results: they replace the standing findings it owns, move the window, and tell. */
  recordRound(probed: Probed): Promise<void> {
    const { metrics } = this.options;
    const { withCanary, report, changed, seconds, started, log } = probed;
    if (!report) return Promise.resolve();
    const { findings, probed: conclusiveProbes } = conclusive(report, changed);
    const discarded = report.mismatches.length - findings.length;
    const { rotation } = report;
    return this.serialized(async () => {
      // A round without the canary leaves the canary's findings to the checks that probe it (with the
      // canary off, nothing probes them: the round owns all, and closes what an earlier leader left).
      const mine = (f: { readonly from: string }) => withCanary || !this.options.canary || !this.inCanary(f);
      const standing = restand({
        standing: this.standing,
        mine,
        report,
        findings,
        probed: conclusiveProbes,
        changedVerdicts: this.changedVerdicts,
      });
      this.changedVerdicts = new Set();
      this.cursorNow = rotation.nextCursor;
      if (rotation.overBudget)
        log.warn(
          { probePods: rotation.probePods, maxProbePods: this.options.maxProbePods },
          'the canary (on every node) or the least a rotation needs exceeds --max-probe-pods: raise it',
        );
      metrics.recordRound({ ...report, mismatches: standing }, seconds);
      metrics.lastSuccessfulRound.set(Date.now() / 1000);
      this.observeEnforcement(findings, conclusiveProbes, started);
      await this.publish(standing, mine);
      await this.updateNodes(probed, findings);
      log.info(
        {
          ...report.summary,
          mismatches: findings.length,
          standing: standing.length,
          discarded,
          seconds,
          coverage: rotation.coverage,
          withCanary,
          timings: report.timings,
        },
        'round completed',
      );
    });
  }

  /**
   * A canary check: its findings replace the standing findings inside the canary; every other
   * standing finding is kept as it is until the next full round.
   */
  recordCanaryCheck(probed: Probed): Promise<void> {
    const { metrics } = this.options;
    const { report, changed, seconds, log } = probed;
    if (!report) return Promise.resolve();
    const { findings, probed: conclusiveProbes } = conclusive(report, changed);
    return this.serialized(async () => {
      const standing = restand({
        standing: this.standing,
        mine: (f) => this.inCanary(f),
        report,
        findings,
        probed: conclusiveProbes,
        changedVerdicts: this.changedVerdicts,
      });
      for (const p of report.probes) metrics.probes.inc({ result: p.observed });
      metrics.flaky.inc(report.summary.flaky);
      metrics.setMismatches(standing);
      await this.publish(standing, (f) => this.inCanary(f));
      await this.updateNodes(probed, findings);
      const level = findings.length > 0 ? 'warn' : 'debug';
      log[level](
        { ...report.summary, mismatches: findings.length, standing: standing.length, seconds },
        'canary check completed',
      );
    });
  }

  private inCanary(f: { readonly from: string }): boolean {
    return inNamespace(f, this.options.canaryNamespace);
  }

  /** Runs `fn` after every earlier caller's: full rounds and canary checks end in any order. */
  private serialized(fn: () => Promise<void>): Promise<void> {
    const next = this.publishing.then(fn);
    this.publishing = next.catch(() => undefined);
    return next;
  }

  /**
   * Keeps the standing findings, and publishes them as Events (within the Event limits). `mine`: the
   * flows this run probed, the only ones whose open Events it may show restored.
   */
  private async publish(standing: Finding[], mine: (f: { readonly from: string }) => boolean): Promise<void> {
    const { metrics } = this.options;
    this.standing = standing;
    this.cells = standingCells(standing);
    // Standing findings, not this round's: a flow off the rotation window is not "restored".
    const published = await this.events.publish(standing, mine);
    metrics.events.inc({ outcome: 'created' }, published.created);
    metrics.events.inc({ outcome: 'series_updated' }, published.updated);
    metrics.events.inc({ outcome: 'restored' }, published.restored);
    metrics.events.inc({ outcome: 'deferred' }, published.deferred);
    metrics.events.inc({ outcome: 'error' }, published.errors);
  }

  private async updateNodes(probed: Probed, findings: readonly Finding[]): Promise<void> {
    const { log } = probed;
    const { metrics } = this.options;
    if (!probed.report) return;
    if (!this.nodesAdopted) {
      // A node an earlier leader reported broken is broken until shown otherwise: no second
      // Warning if it still is, and its NodeEnforcing if it recovered while no leader watched.
      try {
        const prior = new Map(this.nodes.verdicts);
        for (const e of await this.events.openNodeWarnings()) {
          const name = e.regarding?.name;
          if (name && !prior.has(name)) prior.set(name, reportedBroken(name));
        }
        this.nodes = { ...this.nodes, verdicts: prior };
        this.nodesAdopted = true;
      } catch (err) {
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'could not read open NodeNotEnforcing events',
        );
      }
    }
    const { state, events } = nodesAfterRun(this.nodes, {
      report: probed.report,
      findings,
      changed: probed.changed,
      nodes: probed.nodes,
      probedAt: probed.started,
    });
    this.nodes = state;
    metrics.setNodeVerdicts(state.verdicts.values());
    for (const e of events) {
      log[e.type === 'Warning' ? 'warn' : 'info']({ node: e.node, status: e.status }, e.note);
      try {
        await this.events.node(e.node, e.type, e.reason, e.note);
        metrics.events.inc({ outcome: 'created' });
      } catch (err) {
        metrics.events.inc({ outcome: 'error' });
        log.error(
          { err: err instanceof Error ? err.message : String(err), node: e.node },
          'could not record event',
        );
      }
    }
  }

  private observeEnforcement(
    findings: readonly Finding[],
    probed: readonly ProbeRecord[],
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
}
