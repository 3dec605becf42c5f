// Prometheus metrics (the names are a contract: dashboards and alerts query them). A private Registry per
// controller, so tests build fresh ones. Cardinality is bounded: mismatch series are keyed by namespace pair,
// port, protocol and kind only, and capped at `maxMismatchSeries`; the rest are folded into one
// src_namespace="_other" series per kind (docs/metrics.md).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { enforcingValue, type NodeVerdict } from '../audit/nodes.ts';
import type { RoundReport } from '../audit/round.ts';
import type { Finding } from '../core/flow.ts';

export const DEFAULT_MAX_MISMATCH_SERIES = 200;

export class Metrics {
  readonly registry = new Registry();
  readonly mismatches: Gauge<'kind' | 'src_namespace' | 'dst_namespace' | 'port' | 'protocol'>;
  readonly probes: Counter<'result'>;
  readonly rounds: Counter<'outcome'>;
  readonly canaryChecks: Counter<'outcome'>;
  readonly roundDuration: Histogram;
  readonly lastRound: Gauge;
  readonly lastSuccessfulRound: Gauge;
  readonly classes: Gauge;
  readonly nodesCovered: Gauge;
  readonly nodesSchedulable: Gauge;
  readonly nodeEnforcing: Gauge<'node'>;
  readonly nodesNotCovered: Gauge<'reason'>;
  readonly coverageRatio: Gauge;
  readonly rotationRounds: Gauge;
  readonly flaky: Counter;
  readonly skippedClasses: Gauge;
  readonly enforcementLatency: Histogram;
  readonly leader: Gauge;
  readonly informerRestarts: Counter<'resource'>;
  readonly lists: Counter<'resource'>;
  readonly adminDenyRules: Gauge<'namespace'>;
  readonly probePods: Counter;
  readonly serversReused: Counter;
  readonly events: Counter<'outcome'>;
  private readonly maxSeries: number;

  constructor(options: { maxMismatchSeries?: number; processMetrics?: boolean } = {}) {
    this.maxSeries = options.maxMismatchSeries ?? DEFAULT_MAX_MISMATCH_SERIES;
    const registers = [this.registry];
    this.mismatches = new Gauge({
      name: 'netaudit_mismatches',
      help: 'Confirmed mismatches between expected and observed connectivity in the last completed round',
      labelNames: ['kind', 'src_namespace', 'dst_namespace', 'port', 'protocol'],
      registers,
    });
    this.probes = new Counter({
      name: 'netaudit_probes_total',
      help: 'Probes by result',
      labelNames: ['result'],
      registers,
    });
    this.rounds = new Counter({
      name: 'netaudit_audit_rounds_total',
      help: 'Audit rounds by outcome (completed, aborted, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.canaryChecks = new Counter({
      name: 'netaudit_canary_checks_total',
      help: 'Canary-only checks between full rounds, by outcome (completed, aborted, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.roundDuration = new Histogram({
      name: 'netaudit_audit_round_duration_seconds',
      help: 'Wall time of an audit round',
      buckets: [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600],
      registers,
    });
    this.lastRound = new Gauge({
      name: 'netaudit_last_round_timestamp_seconds',
      help: 'When the last round ended',
      registers,
    });
    this.lastSuccessfulRound = new Gauge({
      name: 'netaudit_last_successful_round_timestamp_seconds',
      help: 'When the last completed (not aborted, not failed) round ended',
      registers,
    });
    this.classes = new Gauge({
      name: 'netaudit_classes',
      help: 'Equivalence classes probed in the last round',
      registers,
    });
    this.nodesCovered = new Gauge({
      name: 'netaudit_nodes_covered',
      help: 'Nodes with at least one probe pod in the last completed round',
      registers,
    });
    this.coverageRatio = new Gauge({
      name: 'netaudit_coverage_ratio',
      help: 'Fraction of the (class, node) pairs in scope probed in the last completed round',
      registers,
    });
    this.rotationRounds = new Gauge({
      name: 'netaudit_rotation_rounds',
      help: 'Rounds needed to probe every (class, node) pair under --max-probe-pods (1: every round covers all)',
      registers,
    });
    this.nodesSchedulable = new Gauge({
      name: 'netaudit_nodes_schedulable',
      help: 'Schedulable Ready nodes',
      registers,
    });
    this.nodeEnforcing = new Gauge({
      name: 'netaudit_node_enforcing',
      help: '1 when the node enforces NetworkPolicy, 0 when it does not (or only partly); no series while unknown',
      labelNames: ['node'],
      registers,
    });
    this.nodesNotCovered = new Gauge({
      name: 'netaudit_nodes_not_covered',
      help: 'Nodes no probe pod ran on in the last run, by reason (not-ready, cordoned, tainted, not-selected, outside-window, pods-failed, no-probe)',
      labelNames: ['reason'],
      registers,
    });
    this.flaky = new Counter({
      name: 'netaudit_flaky_probes_total',
      help: 'Probes whose mismatch a re-probe did not confirm',
      registers,
    });
    this.skippedClasses = new Gauge({
      name: 'netaudit_skipped_classes',
      help: 'Classes not probed because probing them is unsafe',
      registers,
    });
    this.enforcementLatency = new Histogram({
      name: 'netaudit_enforcement_latency_seconds',
      help: 'Upper bound of the time from a policy change to a round observing it enforced',
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    });
    this.leader = new Gauge({
      name: 'netaudit_leader',
      help: '1 when this replica holds the lease',
      registers,
    });
    this.informerRestarts = new Counter({
      name: 'netaudit_watch_restarts_total',
      help: 'Watches restarted after an error or a silent stream',
      labelNames: ['resource'],
      registers,
    });
    this.adminDenyRules = new Gauge({
      name: 'netaudit_admin_deny_rules',
      help: "Admin-tier ClusterNetworkPolicy Deny rules whose subject covers netaudit's own or its canary namespace",
      labelNames: ['namespace'],
      registers,
    });
    this.lists = new Counter({
      name: 'netaudit_api_lists_total',
      help: 'LIST requests by resource',
      labelNames: ['resource'],
      registers,
    });
    this.probePods = new Counter({
      name: 'netaudit_probe_pods_created_total',
      help: 'Probe pods created',
      registers,
    });
    this.serversReused = new Counter({
      name: 'netaudit_probe_servers_reused_total',
      help: 'Server probe pods a run probed again instead of creating them (kept across rounds)',
      registers,
    });
    this.events = new Counter({
      name: 'netaudit_events_total',
      help: 'Mismatch Events by outcome (created, series_updated, restored, deferred by the Event limits, error)',
      labelNames: ['outcome'],
      registers,
    });
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'netaudit_' });
  }

  /** Replaces the mismatch gauge with the findings of one completed round (bounded series). */
  setMismatches(findings: readonly Finding[]): void {
    this.mismatches.reset();
    const counts = new Map<string, { labels: Record<string, string>; n: number }>();
    for (const f of findings) {
      const labels = {
        kind: f.kind,
        src_namespace: f.from.split('/')[0] ?? '',
        dst_namespace: f.to.startsWith('ip:') ? 'external' : (f.to.split('/')[0] ?? ''),
        port: String(f.port),
        protocol: f.protocol,
      };
      const key = JSON.stringify(labels);
      const entry = counts.get(key);
      if (entry) entry.n++;
      else if (counts.size < this.maxSeries) counts.set(key, { labels, n: 1 });
      else {
        const other = {
          kind: f.kind,
          src_namespace: '_other',
          dst_namespace: '_other',
          port: '_other',
          protocol: '_other',
        };
        const k = JSON.stringify(other);
        const o = counts.get(k) ?? { labels: other, n: 0 };
        o.n++;
        counts.set(k, o);
      }
    }
    for (const { labels, n } of counts.values()) this.mismatches.set(labels, n);
    // Zero series make "the gauge returned to 0" observable for each kind.
    for (const kind of ['unexpected-allow', 'unexpected-deny']) {
      if (![...counts.values()].some((c) => c.labels.kind === kind)) {
        this.mismatches.set({ kind, src_namespace: '', dst_namespace: '', port: '', protocol: '' }, 0);
      }
    }
  }

  /** One series per node whose enforcement is known; the not-covered nodes counted by reason. */
  setNodeVerdicts(verdicts: Iterable<NodeVerdict>): void {
    this.nodeEnforcing.reset();
    this.nodesNotCovered.reset();
    const notCovered = new Map<string, number>();
    for (const v of verdicts) {
      const value = enforcingValue(v.status);
      if (value !== undefined) this.nodeEnforcing.set({ node: v.name }, value);
      if (v.evidence.kind === 'not-covered')
        notCovered.set(v.evidence.why.kind, (notCovered.get(v.evidence.why.kind) ?? 0) + 1);
    }
    for (const [reason, n] of notCovered) this.nodesNotCovered.set({ reason }, n);
  }

  recordRound(report: RoundReport, seconds: number): void {
    for (const p of report.probes) this.probes.inc({ result: p.observed });
    this.flaky.inc(report.summary.flaky);
    this.classes.set(report.summary.classes);
    const coverage = report.rotation.coverage;
    this.nodesCovered.set(coverage.nodesCovered);
    this.coverageRatio.set(coverage.pairsTotal > 0 ? coverage.pairsCovered / coverage.pairsTotal : 1);
    this.rotationRounds.set(coverage.rounds);
    this.skippedClasses.set(report.summary.skipped);
    this.roundDuration.observe(seconds);
    this.setMismatches(report.mismatches);
  }
}
