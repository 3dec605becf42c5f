// The controller's findings bookkeeping, pure: old standing findings and one run's results in, the
// new standing findings and what to tell about them out. Full rounds and canary checks both end
// here; nothing in this module talks to the cluster.
import { diagnoseNodes, type NodeCandidate, type NodeVerdict } from '../audit/nodes.ts';
import { standingFindings, verdictKey } from '../audit/rotation.ts';
import type { ProbeRecord, RoundReport } from '../audit/round.ts';
import type { Finding } from '../core/flow.ts';
import type { Protocol } from '../core/traffic.ts';
import { REASON_NODE_ENFORCING, REASON_NODE_NOT_ENFORCING } from '../kube/events.ts';
import { nodeReason } from '../report/nodes.ts';
import { mergeNodeVerdicts, nodeTransitions } from './node-health.ts';

/** A standing finding's flow between classes, to compare its verdict before and after a change. */
export interface StandingCell {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** A run's findings and the conclusive probes that can clear a standing one (changed classes left out). */
export function conclusive(
  report: RoundReport,
  changed: ReadonlySet<string>,
): { findings: Finding[]; probed: ProbeRecord[] } {
  const unchanged = (from: string, to: string | undefined) => !changed.has(from) && !(to && changed.has(to));
  return {
    findings: report.mismatches.filter((f) => unchanged(f.fromClass, f.toClass)),
    probed: report.probes.filter((p) => p.conclusive && unchanged(p.fromClass, p.toClass)),
  };
}

/**
 * The standing findings after a run: those it owns (`mine`) as standingFindings makes them, the rest
 * as they stood. Only a conclusive probe clears a standing mismatch, and not one of a class that
 * changed mid-run (`conclusive` left those out).
 */
export function restand(input: {
  readonly standing: readonly Finding[];
  readonly mine: (f: Finding) => boolean;
  readonly report: RoundReport;
  readonly findings: readonly Finding[];
  readonly probed: readonly ProbeRecord[];
  readonly changedVerdicts: ReadonlySet<string>;
}): Finding[] {
  const { standing, mine, report } = input;
  return [
    ...standing.filter((f) => !mine(f)),
    ...standingFindings({
      previous: standing.filter(mine),
      current: [...input.findings],
      probed: input.probed,
      classes: new Set(report.rotation.assignment.keys()),
      nodes: new Set(report.rotation.nodes),
      changedVerdicts: input.changedVerdicts,
    }),
  ];
}

export function standingCells(standing: readonly Finding[]): StandingCell[] {
  return standing.map((f) => ({
    key: verdictKey(f.fromClass, f.toClass ?? f.to, f.port, f.protocol),
    from: f.fromClass,
    to: f.toClass ?? f.to,
    port: f.port,
    protocol: f.protocol,
  }));
}

/** The canary's classes probe one another only, so a finding is the canary's when its source is. */
export function inNamespace(f: { readonly from: string }, namespace: string): boolean {
  return f.from.startsWith(`${namespace}/`);
}

export interface NodeEvent {
  readonly node: string;
  readonly status: NodeVerdict['status'];
  readonly type: 'Warning' | 'Normal';
  readonly reason: typeof REASON_NODE_NOT_ENFORCING | typeof REASON_NODE_ENFORCING;
  readonly note: string;
}

export interface NodeState {
  /** Each node's enforcement as the runs so far have shown it. */
  readonly verdicts: ReadonlyMap<string, NodeVerdict>;
  /** When the evidence behind each verdict was probed (the start of that run). */
  readonly probedAt: ReadonlyMap<string, number>;
}

/**
 * Node verdicts from a run's own probes (classes changed mid-run left out), merged with what earlier
 * runs showed; a Warning when a node stops enforcing, a Normal when it is back.
 */
export function nodesAfterRun(
  state: NodeState,
  run: {
    readonly report: RoundReport;
    readonly findings: readonly Finding[];
    readonly changed: ReadonlySet<string>;
    readonly nodes: readonly NodeCandidate[];
    readonly probedAt: number;
  },
): { readonly state: NodeState; readonly events: readonly NodeEvent[] } {
  const { report, changed } = run;
  const verdicts = diagnoseNodes({
    nodes: run.nodes,
    probes: report.probes.filter((p) => !changed.has(p.fromClass) && !(p.toClass && changed.has(p.toClass))),
    mismatches: run.findings,
    inconclusive: report.inconclusive,
    failedPods: report.failedPods,
    planned: new Set([...report.rotation.assignment.values()].flat()),
  });
  const next = mergeNodeVerdicts(state.verdicts, verdicts, {
    probedAt: run.probedAt,
    previousAt: state.probedAt,
  });
  const probedAt = new Map(state.probedAt);
  for (const v of verdicts) if (next.get(v.name) === v) probedAt.set(v.name, run.probedAt);
  const { broke, recovered } = nodeTransitions(state.verdicts, next);
  const events: NodeEvent[] = [
    ...broke.map(
      (v): NodeEvent => ({
        node: v.name,
        status: v.status,
        type: 'Warning',
        reason: REASON_NODE_NOT_ENFORCING,
        note: `${v.name} is ${v.status === 'partial' ? 'only partly enforcing' : 'not enforcing'} NetworkPolicy: ${nodeReason(v)}`,
      }),
    ),
    ...recovered.map(
      (v): NodeEvent => ({
        node: v.name,
        status: v.status,
        type: 'Normal',
        reason: REASON_NODE_ENFORCING,
        note: `${v.name} enforces NetworkPolicy again: ${nodeReason(v)}`,
      }),
    ),
  ];
  return { state: { verdicts: next, probedAt }, events };
}
