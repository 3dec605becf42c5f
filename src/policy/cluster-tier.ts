// One ClusterNetworkPolicy tier (Admin or Baseline) deciding one direction of a flow.
//
// Within a tier, policies are tried by priority (lower first). Within a policy, rules are tried in the
// order written and the first that matches decides. Policies of equal priority: the API lets an
// implementation apply any of them, so when their first matching rules agree that is the decision
// (naming each), and when they disagree the verdict is undetermined rather than a guess.
// Accept and Deny are final; Pass skips the rest of the tier and hands the flow to the next tier.
import { assertNever } from '../core/assert-never.ts';
import type { Protocol } from '../core/traffic.ts';
import { cidrContainsIP } from './cidr.ts';
import type { DirectionQuery, EvalContext } from './evaluate.ts';
import { type CompiledSelector, selectorMatches } from './labels.ts';
import type {
  ClusterAction,
  ClusterPeerMatcher,
  ClusterPortMatcher,
  CompiledClusterPolicy,
  CompiledClusterRule,
  Endpoint,
  PodInfo,
  RuleRef,
  Undetermined,
} from './types.ts';

/** A peer's answer: matches, does not, or cannot be known offline (and why). */
export type PeerAnswer = 'yes' | 'no' | Undetermined['why'];

export type ClusterOutcome =
  | { readonly kind: 'decided'; readonly action: ClusterAction; readonly by: readonly RuleRef[] }
  | { readonly kind: 'none' }
  | { readonly kind: 'undetermined'; readonly undetermined: Undetermined };

type Ctx = Pick<EvalContext, 'profile' | 'namespaceLabels' | 'namespaceMatches'>;

function namespaceMatches(ctx: Ctx, selector: CompiledSelector, namespace: string): boolean {
  return ctx.namespaceMatches
    ? ctx.namespaceMatches(selector, namespace)
    : selectorMatches(selector, ctx.namespaceLabels(namespace));
}

/** Does a policy's subject select the pod? */
export function clusterSubjectSelects(
  ctx: Ctx,
  policy: CompiledClusterPolicy,
  pod: Pick<PodInfo, 'namespace' | 'labels'>,
): boolean {
  return (
    namespaceMatches(ctx, policy.subject.namespaces, pod.namespace) &&
    selectorMatches(policy.subject.pods, pod.labels)
  );
}

export function clusterPeerMatches(ctx: Ctx, peer: ClusterPeerMatcher, other: Endpoint): PeerAnswer {
  switch (peer.kind) {
    case 'pods-in-namespaces':
      return other.kind === 'pod' &&
        namespaceMatches(ctx, peer.namespaces, other.pod.namespace) &&
        selectorMatches(peer.pods, other.pod.labels)
        ? 'yes'
        : 'no';
    case 'networks': {
      if (other.kind === 'external')
        return peer.blocks.some((b) => cidrContainsIP(b.cidr, other.ip)) ? 'yes' : 'no';
      // The same CNI mechanism as ipBlock: whether CIDRs match pod addresses is the profile's call.
      if (!ctx.profile.ipBlockMatchesPodIPs.value) return 'no';
      if (other.pod.ips.length === 0) return 'pod-without-ip';
      return other.pod.ips.some((ip) => peer.blocks.some((b) => cidrContainsIP(b.cidr, ip))) ? 'yes' : 'no';
    }
    case 'nodes':
      return other.kind === 'pod' ? 'no' : 'node-peer';
    case 'domain-names':
      return other.kind === 'pod' ? 'no' : 'domain-peer';
    case 'everything':
      return 'yes';
    default:
      return assertNever(peer);
  }
}

export function clusterPortMatches(
  m: ClusterPortMatcher,
  destination: Endpoint,
  port: number,
  protocol: Protocol,
): boolean {
  switch (m.kind) {
    case 'port-range':
      return m.protocol === protocol && port >= m.from && port <= m.to;
    case 'any-protocol-named-port':
      return (
        destination.kind === 'pod' &&
        destination.pod.ports.some((p) => p.name === m.name && p.port === port && p.protocol === protocol)
      );
    default:
      return assertNever(m);
  }
}

export function clusterRuleMatches(
  ctx: Ctx,
  rule: CompiledClusterRule,
  peer: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: Protocol,
): PeerAnswer {
  if (
    rule.ports.kind === 'ports' &&
    !rule.ports.ports.some((m) => clusterPortMatches(m, destination, port, protocol))
  )
    return 'no';
  let unknown: PeerAnswer | undefined;
  for (const p of rule.peers) {
    const a = clusterPeerMatches(ctx, p, peer);
    if (a === 'yes') return 'yes';
    if (a !== 'no') unknown ??= a;
  }
  return unknown ?? 'no';
}

/** The first rule of one policy that decides, or why it cannot be known. */
function policyDecision(
  ctx: Ctx,
  policy: CompiledClusterPolicy,
  q: Pick<DirectionQuery, 'direction' | 'peer' | 'destination' | 'port' | 'protocol'>,
): { rule: CompiledClusterRule; answer: PeerAnswer } | undefined {
  for (const rule of q.direction === 'ingress' ? policy.ingress : policy.egress) {
    const answer = clusterRuleMatches(ctx, rule, q.peer, q.destination, q.port, q.protocol);
    if (answer !== 'no') return { rule, answer };
  }
  return undefined;
}

/**
 * Decides one direction with the policies of one tier that select the subject, sorted by priority
 * (then name, for stable reasons).
 */
export function decideClusterTier(
  ctx: Ctx,
  selecting: readonly CompiledClusterPolicy[],
  q: Pick<DirectionQuery, 'direction' | 'peer' | 'destination' | 'port' | 'protocol'>,
): ClusterOutcome {
  let i = 0;
  while (i < selecting.length) {
    const priority = (selecting[i] as CompiledClusterPolicy).priority;
    const decided: CompiledClusterRule[] = [];
    let unknown: { why: Undetermined['why']; rule: RuleRef } | undefined;
    for (; i < selecting.length && (selecting[i] as CompiledClusterPolicy).priority === priority; i++) {
      const d = policyDecision(ctx, selecting[i] as CompiledClusterPolicy, q);
      if (!d) continue;
      if (d.answer === 'yes') decided.push(d.rule);
      else if (d.answer !== 'no') unknown ??= { why: d.answer, rule: d.rule.ref };
    }
    if (unknown) return { kind: 'undetermined', undetermined: { why: unknown.why, rules: [unknown.rule] } };
    if (decided.length === 0) continue;
    const action = (decided[0] as CompiledClusterRule).action;
    if (decided.some((r) => r.action !== action))
      return {
        kind: 'undetermined',
        undetermined: { why: 'equal-priority', rules: decided.map((r) => r.ref) },
      };
    return { kind: 'decided', action, by: decided.map((r) => r.ref) };
  }
  return { kind: 'none' };
}
