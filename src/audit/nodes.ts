// Per-node diagnosis: one verdict per node from a round's probes, so that "nalab-node-1 is not
// enforcing NetworkPolicy" is one line instead of hundreds of flow rows. Pure: the round's records in,
// verdicts with their evidence out; renderers turn the evidence into words.
//
// Enforcement is per node: a denial of egress is enforced on the source pod's node, a denial of
// ingress on the destination pod's node (every CNI profile netaudit knows programs a pod's rules on
// the node that runs it). A denied probe whose denial only one node could enforce (its "sole
// enforcer") is evidence about that node alone:
//
// | sole-enforcer denied probes of the node           | status        |
// |----------------------------------------------------|---------------|
// | node not probed (excluded, or no probe pod ran)    | not-covered   |
// | some leaked (confirmed unexpected-allow), none held | not-enforcing |
// | some leaked and some held (blocked)                 | partial       |
// | none leaked, some held                              | enforcing     |
// | none of them probed conclusively                    | unknown       |
//
// A probe denied in both directions between two nodes is held by either node, so it is evidence about
// neither. A first-pass connection the re-probe did not confirm is flaky: neither leaked nor held.
// Unexpected-deny findings are counted per node (the nodes on the path) but do not change the status:
// a drop of allowed traffic is a fault, not a lack of enforcement.

import type { Flow, MismatchKind } from '../core/flow.ts';
import type { FinalOutcome } from '../probe/outcome.ts';

export type NodeStatus = 'enforcing' | 'not-enforcing' | 'partial' | 'not-covered' | 'unknown';

/** Not-enforcing, or only partly: what an operator is woken for. */
export function isBroken(status: NodeStatus | undefined): boolean {
  return status === 'not-enforcing' || status === 'partial';
}

/** `netaudit_node_enforcing{node}`: 1 enforcing, 0 not-enforcing or partial, no series otherwise. */
export function enforcingValue(status: NodeStatus): 1 | 0 | undefined {
  if (status === 'enforcing') return 1;
  return isBroken(status) ? 0 : undefined;
}

/** Why a node was not probed. */
export type NotCovered =
  | { readonly kind: 'not-ready' }
  | { readonly kind: 'cordoned' }
  | { readonly kind: 'tainted'; readonly taints: readonly string[] }
  | { readonly kind: 'not-selected'; readonly selector: string }
  | { readonly kind: 'outside-window' }
  | { readonly kind: 'pods-failed'; readonly failed: number; readonly reason: string }
  | { readonly kind: 'no-probe' };

export type NodeEvidence =
  | { readonly kind: 'not-covered'; readonly why: NotCovered }
  | { readonly kind: 'no-evidence' }
  /** `--dry-run`: the engine answered; no probe ran, so nothing is known about any node. */
  | { readonly kind: 'dry-run' }
  | {
      readonly kind: 'evidence';
      /** Denied probes this node alone had to enforce that a re-probe confirmed connected. */
      readonly leaked: number;
      /** Denied probes this node alone had to enforce that were blocked. */
      readonly held: number;
      /** Up to three leaked flows, for the reason line. */
      readonly examples: readonly Flow[];
    };

export interface NodeVerdict {
  readonly name: string;
  readonly status: NodeStatus;
  /** First-pass probes with this node at either end. */
  readonly probes: number;
  /** Confirmed unexpected-allow findings this node should have denied. */
  readonly unexpectedAllow: number;
  /** Confirmed unexpected-deny findings with this node on the path. */
  readonly unexpectedDeny: number;
  /** Inconclusive probes with this node at either end. */
  readonly inconclusive: number;
  readonly evidence: NodeEvidence;
}

/** A node of the cluster, and why it was left out of the round if it was. */
export interface NodeCandidate {
  readonly name: string;
  readonly excluded: NotCovered | undefined;
}

export interface NodeProbe extends Flow {
  readonly expected: 'allow' | 'deny';
  readonly egressAllowed: boolean;
  readonly ingressAllowed: boolean;
  readonly observed: FinalOutcome['kind'];
  readonly conclusive: boolean;
}

export interface NodeFinding extends Flow {
  readonly kind: MismatchKind;
  /** The nodes that should have enforced the expectation (deny) or that may have dropped (allow). */
  readonly nodes: readonly string[];
}

export interface NodeRoundInput {
  readonly nodes: readonly NodeCandidate[];
  readonly probes: readonly NodeProbe[];
  readonly mismatches: readonly NodeFinding[];
  readonly inconclusive: readonly Pick<Flow, 'srcNode' | 'dstNode'>[];
  readonly failedPods: readonly { readonly node: string; readonly reason: string }[];
  /** Nodes the round planned probe pods on (under rotation, a window of the nodes). */
  readonly planned: ReadonlySet<string> | undefined;
}

const flowKey = (f: Flow): string =>
  `${f.from}|${f.to}|${f.port}/${f.protocol}|${f.srcNode}|${f.dstNode ?? ''}`;

/** The one node that alone decides a denied probe, if there is one. */
export function soleEnforcer(p: NodeProbe): string | undefined {
  const enforcers = new Set<string>();
  if (!p.egressAllowed) enforcers.add(p.srcNode);
  if (!p.ingressAllowed && p.dstNode !== undefined) enforcers.add(p.dstNode);
  return enforcers.size === 1 ? [...enforcers][0] : undefined;
}

export function diagnoseNodes(input: NodeRoundInput): NodeVerdict[] {
  const leakedFlows = new Set(
    input.mismatches.filter((m) => m.kind === 'unexpected-allow').map((m) => flowKey(m)),
  );
  const tally = new Map<
    string,
    { probes: number; inconclusive: number; leaked: number; held: number; examples: Flow[] }
  >();
  const of = (node: string) => {
    let t = tally.get(node);
    if (!t) {
      t = { probes: 0, inconclusive: 0, leaked: 0, held: 0, examples: [] };
      tally.set(node, t);
    }
    return t;
  };
  for (const p of input.probes) {
    for (const n of endsOf(p)) of(n).probes++;
    if (p.expected !== 'deny' || !p.conclusive) continue;
    const enforcer = soleEnforcer(p);
    if (enforcer === undefined) continue;
    const t = of(enforcer);
    if (p.observed === 'connected') {
      if (!leakedFlows.has(flowKey(p))) continue;
      t.leaked++;
      if (t.examples.length < 3) t.examples.push(flowRef(p));
    } else {
      // Conclusive and not connected: refused, timeout, or both over the attempts.
      t.held++;
    }
  }
  for (const i of input.inconclusive) for (const n of endsOf(i)) of(n).inconclusive++;

  return input.nodes.map((node): NodeVerdict => {
    const t = tally.get(node.name) ?? { probes: 0, inconclusive: 0, leaked: 0, held: 0, examples: [] };
    const counts = {
      name: node.name,
      probes: t.probes,
      unexpectedAllow: input.mismatches.filter(
        (m) => m.kind === 'unexpected-allow' && m.nodes.includes(node.name),
      ).length,
      unexpectedDeny: input.mismatches.filter(
        (m) => m.kind === 'unexpected-deny' && m.nodes.includes(node.name),
      ).length,
      inconclusive: t.inconclusive,
    };
    const why = node.excluded ?? (t.probes === 0 ? notProbed(node.name, input) : undefined);
    if (why) return { ...counts, status: 'not-covered', evidence: { kind: 'not-covered', why } };
    if (t.leaked === 0 && t.held === 0)
      return { ...counts, status: 'unknown', evidence: { kind: 'no-evidence' } };
    const status: NodeStatus = t.leaked === 0 ? 'enforcing' : t.held === 0 ? 'not-enforcing' : 'partial';
    return {
      ...counts,
      status,
      evidence: { kind: 'evidence', leaked: t.leaked, held: t.held, examples: t.examples },
    };
  });
}

function notProbed(node: string, input: NodeRoundInput): NotCovered {
  const failed = input.failedPods.filter((f) => f.node === node);
  const first = failed[0];
  if (first) return { kind: 'pods-failed', failed: failed.length, reason: first.reason };
  if (input.planned && !input.planned.has(node)) return { kind: 'outside-window' };
  return { kind: 'no-probe' };
}

function endsOf(f: Pick<Flow, 'srcNode' | 'dstNode'>): string[] {
  return f.dstNode === undefined || f.dstNode === f.srcNode ? [f.srcNode] : [f.srcNode, f.dstNode];
}

function flowRef(f: Flow): Flow {
  return {
    from: f.from,
    to: f.to,
    port: f.port,
    protocol: f.protocol,
    srcNode: f.srcNode,
    dstNode: f.dstNode,
  };
}

/** Every node `unknown` (or `not-covered`): a dry run probes nothing. */
export function dryRunNodes(nodes: readonly NodeCandidate[]): NodeVerdict[] {
  return nodes.map((n) => ({
    name: n.name,
    status: n.excluded ? 'not-covered' : 'unknown',
    probes: 0,
    unexpectedAllow: 0,
    unexpectedDeny: 0,
    inconclusive: 0,
    evidence: n.excluded ? { kind: 'not-covered', why: n.excluded } : { kind: 'dry-run' },
  }));
}

/** The findings a node's verdict explains (unexpected-allow it should have denied), and the rest. */
export function groupByNode<F extends NodeFinding>(
  findings: readonly F[],
  verdicts: readonly NodeVerdict[],
): { readonly byNode: ReadonlyMap<string, readonly F[]>; readonly other: readonly F[] } {
  const broken = new Set(verdicts.filter((v) => isBroken(v.status)).map((v) => v.name));
  const byNode = new Map<string, F[]>();
  const other: F[] = [];
  for (const f of findings) {
    const node = f.kind === 'unexpected-allow' ? f.nodes.find((n) => broken.has(n)) : undefined;
    if (node === undefined) other.push(f);
    else byNode.set(node, [...(byNode.get(node) ?? []), f]);
  }
  return { byNode, other };
}
