// The controller's view of each node's enforcement across runs (full rounds and canary checks), and
// the transitions that become Events. Pure: verdicts in, verdicts and transitions out.
//
// A run that learned nothing about a node (`unknown`, or the node was outside its rotation window)
// keeps the node's last known verdict: a full round whose user policies deny nothing on a node, or a
// canary check between rounds, must not forget that the node stopped enforcing. A node gone from the
// cluster is dropped. Evidence older than what a node's verdict rests on (a round that started before
// the canary check that last judged the node) does not replace it.
import { isBroken, type NodeVerdict } from '../audit/nodes.ts';

function learnedNothing(v: NodeVerdict): boolean {
  return (
    v.status === 'unknown' || (v.evidence.kind === 'not-covered' && v.evidence.why.kind === 'outside-window')
  );
}

function known(v: NodeVerdict | undefined): v is NodeVerdict {
  return v !== undefined && (v.status === 'enforcing' || isBroken(v.status));
}

/**
 * When each known verdict was probed: full rounds and canary checks overlap, so a round that started
 * before a canary check can finish after it, and its older evidence must not overwrite the newer.
 */
export interface ProbeTimes {
  /** When the run being merged started probing. */
  readonly probedAt: number;
  /** When the verdicts in `previous` were probed (absent: long ago). */
  readonly previousAt: ReadonlyMap<string, number>;
}

export function mergeNodeVerdicts(
  previous: ReadonlyMap<string, NodeVerdict>,
  current: readonly NodeVerdict[],
  times?: ProbeTimes,
): Map<string, NodeVerdict> {
  const next = new Map<string, NodeVerdict>();
  for (const v of current) {
    const before = previous.get(v.name);
    const older =
      times !== undefined && (times.previousAt.get(v.name) ?? Number.NEGATIVE_INFINITY) > times.probedAt;
    next.set(v.name, (learnedNothing(v) || older) && known(before) ? before : v);
  }
  return next;
}

export interface NodeTransitions {
  /** Nodes that became not-enforcing or partial: a Warning `NodeNotEnforcing` each. */
  readonly broke: readonly NodeVerdict[];
  /** Nodes that were not-enforcing or partial and now enforce: a Normal `NodeEnforcing` each. */
  readonly recovered: readonly NodeVerdict[];
}

export function nodeTransitions(
  previous: ReadonlyMap<string, NodeVerdict>,
  next: ReadonlyMap<string, NodeVerdict>,
): NodeTransitions {
  const broke: NodeVerdict[] = [];
  const recovered: NodeVerdict[] = [];
  for (const v of next.values()) {
    const before = previous.get(v.name)?.status;
    if (isBroken(v.status) && !isBroken(before)) broke.push(v);
    else if (v.status === 'enforcing' && isBroken(before)) recovered.push(v);
  }
  return { broke, recovered };
}

/**
 * A node an earlier leader reported not enforcing (an open NodeNotEnforcing Event), as the new
 * leader's starting point: no evidence of its own yet, so no counts.
 */
export function reportedBroken(name: string): NodeVerdict {
  return {
    name,
    status: 'not-enforcing',
    probes: 0,
    unexpectedAllow: 0,
    unexpectedDeny: 0,
    inconclusive: 0,
    evidence: { kind: 'evidence', leaked: 0, held: 0, examples: [] },
  };
}
