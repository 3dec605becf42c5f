// Verdicts. A connection needs egress allowed at the source AND ingress allowed at the destination.
// Each direction is decided by a pipeline of tiers: ClusterNetworkPolicy's Admin tier, NetworkPolicy,
// ClusterNetworkPolicy's Baseline tier. A tier allows or denies (final), passes (Pass rules: on to the
// next tier), has no opinion, or cannot decide offline; when no tier decides, traffic is allowed.
import { assertNever } from '../core/assert-never.ts';
import type { Labels } from '../core/k8s.ts';
import type { Protocol } from '../core/traffic.ts';
import { ipBlockContains } from './cidr.ts';
import { clusterSubjectSelects, decideClusterTier } from './cluster-tier.ts';
import { type CompiledSelector, selectorMatches } from './labels.ts';
import type { CniProfile } from './profiles.ts';
import type {
  ClusterTier,
  CompiledClusterPolicy,
  CompiledPolicy,
  CompiledRule,
  Direction,
  DirectionVerdict,
  Endpoint,
  PeerMatcher,
  PodInfo,
  PolicyRef,
  PortMatcher,
  RuleRef,
  Traffic,
  Undetermined,
  Verdict,
} from './types.ts';

export interface EvalContext {
  readonly profile: CniProfile;
  /** Compiled policies of a namespace. */
  policiesIn(namespace: string): readonly CompiledPolicy[];
  namespaceLabels(namespace: string): Labels;
  /** Optional memo of policiesSelecting (the matrix evaluates the same subjects many times). */
  readonly selectionMemo?: WeakMap<PodInfo, Partial<Record<Direction, CompiledPolicy[]>>>;
  /** Optional cache of a namespace selector's answer per namespace (the engine asks it per verdict). */
  namespaceMatches?(selector: CompiledSelector, namespace: string): boolean;
  /** ClusterNetworkPolicies of a tier, by priority then name; absent = none. */
  clusterPolicies?(tier: ClusterTier): readonly CompiledClusterPolicy[];
}

/** What one direction looks like to a tier: who is protected, who is on the other end, what port. */
export interface DirectionQuery {
  readonly direction: Direction;
  /** The pod whose policies decide (source for egress, destination for ingress). */
  readonly subject: PodInfo;
  /** The other end. */
  readonly peer: Endpoint;
  /** The destination, where named ports resolve. */
  readonly destination: Endpoint;
  readonly port: number;
  readonly protocol: Protocol;
}

export type TierDecision =
  | {
      readonly kind: 'allow';
      readonly by: readonly RuleRef[];
      readonly isolatedBy: readonly PolicyRef[];
      readonly tier?: ClusterTier;
    }
  | {
      readonly kind: 'deny';
      readonly isolatedBy: readonly PolicyRef[];
      /** The Deny rules, for a ClusterNetworkPolicy tier. */
      readonly by?: readonly RuleRef[];
      readonly tier?: ClusterTier;
    }
  | { readonly kind: 'pass'; readonly by: readonly RuleRef[] }
  | { readonly kind: 'undetermined'; readonly undetermined: Undetermined }
  | { readonly kind: 'no-opinion' };

export interface Tier {
  readonly name: string;
  decide(ctx: EvalContext, q: DirectionQuery): TierDecision;
}

export function policiesSelecting(ctx: EvalContext, pod: PodInfo, direction: Direction): CompiledPolicy[] {
  const memo = ctx.selectionMemo?.get(pod)?.[direction];
  if (memo) return memo;
  const selecting = ctx
    .policiesIn(pod.namespace)
    .filter((p) => p.isolates[direction] && selectorMatches(p.podSelector, pod.labels));
  if (ctx.selectionMemo) {
    const entry = ctx.selectionMemo.get(pod) ?? {};
    entry[direction] = selecting;
    ctx.selectionMemo.set(pod, entry);
  }
  return selecting;
}

export function peerMatches(
  ctx: EvalContext,
  policy: CompiledPolicy,
  peer: PeerMatcher,
  other: Endpoint,
): boolean {
  switch (peer.kind) {
    case 'pods-in-policy-namespace':
      return (
        other.kind === 'pod' &&
        other.pod.namespace === policy.ref.namespace &&
        selectorMatches(peer.pods, other.pod.labels)
      );
    case 'pods-in-namespaces':
      return (
        other.kind === 'pod' &&
        (ctx.namespaceMatches
          ? ctx.namespaceMatches(peer.namespaces, other.pod.namespace)
          : selectorMatches(peer.namespaces, ctx.namespaceLabels(other.pod.namespace))) &&
        selectorMatches(peer.pods, other.pod.labels)
      );
    case 'ip-block':
      if (other.kind === 'external') return ipBlockContains(peer.block, other.ip);
      return (
        ctx.profile.ipBlockMatchesPodIPs.value && other.pod.ips.some((ip) => ipBlockContains(peer.block, ip))
      );
    default:
      return assertNever(peer, 'peer');
  }
}

/** Resolves a named port on the destination pod, by name AND protocol. */
export function resolveNamedPort(
  destination: Endpoint,
  name: string,
  protocol: Protocol,
): number | undefined {
  if (destination.kind !== 'pod') return undefined;
  return destination.pod.ports.find((p) => p.name === name && p.protocol === protocol)?.port;
}

export function portMatches(
  m: PortMatcher,
  destination: Endpoint,
  port: number,
  protocol: Protocol,
): boolean {
  if (m.protocol !== protocol) return false;
  switch (m.kind) {
    case 'all-ports':
      return true;
    case 'port-range':
      return port >= m.from && port <= m.to;
    case 'named-port':
      return resolveNamedPort(destination, m.name, protocol) === port;
    default:
      return assertNever(m, 'port matcher');
  }
}

export function ruleMatches(
  ctx: EvalContext,
  policy: CompiledPolicy,
  rule: CompiledRule,
  q: DirectionQuery,
): boolean {
  const portOk =
    rule.ports.kind === 'any-port' ||
    rule.ports.ports.some((m) => portMatches(m, q.destination, q.port, q.protocol));
  if (!portOk) return false;
  return rule.peers.kind === 'any-peer' || rule.peers.peers.some((p) => peerMatches(ctx, policy, p, q.peer));
}

export const networkPolicyTier: Tier = {
  name: 'NetworkPolicy',
  decide(ctx, q) {
    const selecting = policiesSelecting(ctx, q.subject, q.direction);
    if (selecting.length === 0) return { kind: 'no-opinion' };
    const by: RuleRef[] = [];
    for (const policy of selecting) {
      for (const rule of q.direction === 'ingress' ? policy.ingress : policy.egress) {
        if (ruleMatches(ctx, policy, rule, q)) by.push(rule.ref);
      }
    }
    const isolatedBy = selecting.map((p) => p.ref);
    return by.length > 0 ? { kind: 'allow', by, isolatedBy } : { kind: 'deny', isolatedBy };
  },
};

/** The ClusterNetworkPolicies of a tier whose subject selects a pod. */
export function clusterPoliciesSelecting(
  ctx: EvalContext,
  tier: ClusterTier,
  pod: PodInfo,
): CompiledClusterPolicy[] {
  return (ctx.clusterPolicies?.(tier) ?? []).filter((p) => clusterSubjectSelects(ctx, p, pod));
}

/** A ClusterNetworkPolicy tier's outcome as a tier decision. */
export function clusterTierDecision(
  ctx: EvalContext,
  tier: ClusterTier,
  selecting: readonly CompiledClusterPolicy[],
  q: DirectionQuery,
): TierDecision {
  if (selecting.length === 0) return { kind: 'no-opinion' };
  const o = decideClusterTier(ctx, selecting, q);
  switch (o.kind) {
    case 'none':
      return { kind: 'no-opinion' };
    case 'undetermined':
      return { kind: 'undetermined', undetermined: o.undetermined };
    case 'decided':
      switch (o.action) {
        case 'Accept':
          return { kind: 'allow', by: o.by, isolatedBy: [], tier };
        case 'Deny':
          return { kind: 'deny', by: o.by, isolatedBy: [], tier };
        case 'Pass':
          return { kind: 'pass', by: o.by };
        default:
          return assertNever(o.action, 'tier decision');
      }
    default:
      return assertNever(o, 'tier decision');
  }
}

function clusterTier(tier: ClusterTier): Tier {
  return {
    name: tier,
    decide: (ctx, q) => clusterTierDecision(ctx, tier, clusterPoliciesSelecting(ctx, tier, q.subject), q),
  };
}

export const adminTier: Tier = clusterTier('Admin');
export const baselineTier: Tier = clusterTier('Baseline');

export const DEFAULT_TIERS: readonly Tier[] = [adminTier, networkPolicyTier, baselineTier];

/** Folds tier decisions, in tier order, into a direction's verdict. */
export function foldTiers(decisions: Iterable<TierDecision>): DirectionVerdict {
  let passedBy: RuleRef[] | undefined;
  const passed = (): { passedBy?: readonly RuleRef[] } => (passedBy ? { passedBy } : {});
  for (const d of decisions) {
    switch (d.kind) {
      case 'allow':
        return {
          isolated: true,
          allowed: true,
          allowedBy: d.by,
          isolatedBy: d.isolatedBy,
          ...(d.tier && { tier: d.tier }),
          ...passed(),
        };
      case 'deny':
        return {
          isolated: true,
          allowed: false,
          allowedBy: [],
          isolatedBy: d.isolatedBy,
          ...(d.tier && { tier: d.tier }),
          ...(d.by && { deniedBy: d.by }),
          ...passed(),
        };
      case 'pass':
        passedBy = [...(passedBy ?? []), ...d.by];
        continue;
      case 'undetermined':
        return {
          isolated: true,
          allowed: false,
          allowedBy: [],
          isolatedBy: [],
          undetermined: d.undetermined,
          ...passed(),
        };
      case 'no-opinion':
        continue;
      default:
        return assertNever(d, 'tier decision');
    }
  }
  return { isolated: false, allowed: true, allowedBy: [], isolatedBy: [], ...passed() };
}

export function evaluateDirection(
  ctx: EvalContext,
  q: DirectionQuery,
  tiers: readonly Tier[] = DEFAULT_TIERS,
): DirectionVerdict {
  function* decisions(): Generator<TierDecision> {
    for (const tier of tiers) yield tier.decide(ctx, q);
  }
  return foldTiers(decisions());
}

const EXTERNAL_INGRESS: DirectionVerdict = {
  isolated: false,
  allowed: true,
  allowedBy: [],
  isolatedBy: [],
  note: 'the destination is outside the cluster: no NetworkPolicy applies to its ingress',
};

export function evaluate(
  ctx: EvalContext,
  traffic: Traffic,
  tiers: readonly Tier[] = DEFAULT_TIERS,
): Verdict {
  const source: Endpoint = { kind: 'pod', pod: traffic.from };
  const { port, protocol } = traffic;
  const egress = evaluateDirection(
    ctx,
    { direction: 'egress', subject: traffic.from, peer: traffic.to, destination: traffic.to, port, protocol },
    tiers,
  );
  const ingress =
    traffic.to.kind === 'pod'
      ? evaluateDirection(
          ctx,
          {
            direction: 'ingress',
            subject: traffic.to.pod,
            peer: source,
            destination: traffic.to,
            port,
            protocol,
          },
          tiers,
        )
      : EXTERNAL_INGRESS;
  return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}
