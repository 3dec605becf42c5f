// Explanations: a verdict in words a person debugging a policy can act on. Pure functions of the
// verdict and the traffic; the "near misses" say, for a denial, why each rule did not match.
import { assertNever } from '../core/assert-never.ts';
import type {} from '../core/traffic.ts';
import {
  clusterPoliciesSelecting,
  clusterTierDecision,
  type DirectionQuery,
  type EvalContext,
  networkPolicyTier,
  peerMatches,
  policiesSelecting,
  portMatches,
  resolveNamedPort,
  type TierDecision,
} from './evaluate.ts';
import { formatSelector } from './labels.ts';
import {
  type ClusterTier,
  type CompiledPolicy,
  type CompiledRule,
  type Direction,
  type DirectionVerdict,
  type Endpoint,
  formatPolicyRef,
  formatRuleRef,
  type PeerMatcher,
  type PortMatcher,
  type RuleRef,
  type Traffic,
  type Undetermined,
  type Verdict,
} from './types.ts';

export function endpointName(e: Endpoint): string {
  return e.kind === 'pod' ? e.pod.key : e.text;
}

export function describePeer(policy: CompiledPolicy, peer: PeerMatcher): string {
  switch (peer.kind) {
    case 'pods-in-policy-namespace':
      return `pods matching ${formatSelector(peer.pods)} in namespace ${policy.ref.namespace}`;
    case 'pods-in-namespaces':
      return peer.pods.kind === 'everything'
        ? `all pods in namespaces matching ${formatSelector(peer.namespaces)}`
        : `pods matching ${formatSelector(peer.pods)} in namespaces matching ${formatSelector(peer.namespaces)}`;
    case 'ip-block':
      return `ipBlock ${peer.block.text}`;
    default:
      return assertNever(peer);
  }
}

export function describePort(m: PortMatcher): string {
  switch (m.kind) {
    case 'all-ports':
      return `all ${m.protocol} ports`;
    case 'port-range':
      return m.from === m.to ? `${m.from}/${m.protocol}` : `${m.from}-${m.to}/${m.protocol}`;
    case 'named-port':
      return `named port "${m.name}"/${m.protocol}`;
    default:
      return assertNever(m);
  }
}

function describeLabels(e: Endpoint): string {
  if (e.kind === 'external') return `${e.text} (outside the cluster)`;
  const labels = Object.entries(e.pod.labels).map(([k, v]) => `${k}=${v}`);
  return `${e.pod.key} (labels ${labels.length ? labels.join(',') : 'none'})`;
}

/** Why one rule did not match the traffic: the port, the peer, or both. */
export function ruleMiss(
  ctx: EvalContext,
  policy: CompiledPolicy,
  rule: CompiledRule,
  peer: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: Traffic['protocol'],
): string {
  const reasons: string[] = [];
  if (
    rule.ports.kind === 'ports' &&
    !rule.ports.ports.some((m) => portMatches(m, destination, port, protocol))
  ) {
    const named = rule.ports.ports
      .filter((m) => m.kind === 'named-port')
      .map((m) => {
        const resolved = resolveNamedPort(destination, m.name, m.protocol);
        return resolved === undefined
          ? `"${m.name}"/${m.protocol} is not a container port of ${endpointName(destination)}`
          : `"${m.name}"/${m.protocol} is port ${resolved} on ${endpointName(destination)}`;
      });
    reasons.push(
      `port ${port}/${protocol} is not in its ports (${rule.ports.ports.map(describePort).join(', ')})${named.length ? `; ${named.join('; ')}` : ''}`,
    );
  }
  if (rule.peers.kind === 'peers' && !rule.peers.peers.some((p) => peerMatches(ctx, policy, p, peer))) {
    const ipNote =
      peer.kind === 'pod' &&
      !ctx.profile.ipBlockMatchesPodIPs.value &&
      rule.peers.peers.some((p) => p.kind === 'ip-block')
        ? ` (profile ${ctx.profile.name}: ipBlock does not match pod IPs)`
        : '';
    reasons.push(
      `${describeLabels(peer)} is not one of its peers: ${rule.peers.peers.map((p) => describePeer(policy, p)).join('; ')}${ipNote}`,
    );
  }
  return `${formatRuleRef(rule.ref)} does not match: ${reasons.join(', and ') || 'no reason found'}`;
}

const UNDETERMINED: Readonly<Record<Undetermined['why'], string>> = {
  'node-peer': "a nodes peer: whether the address is a node's is known only in the cluster",
  'domain-peer': 'a domainNames peer: decided by DNS answers at run time',
  'pod-without-ip': 'a networks peer and a pod without an IP: its address decides',
  'equal-priority': 'policies of equal priority disagree; the API lets the implementation apply any of them',
};

const refs = (list: readonly RuleRef[]): string => list.map(formatRuleRef).join(', ');

function tierWords(d: TierDecision): string {
  switch (d.kind) {
    case 'allow':
      return d.tier ? `Accept by ${refs(d.by)}` : `allowed by ${refs(d.by)}`;
    case 'deny':
      return d.by
        ? `Deny by ${refs(d.by)}`
        : `denied: isolated by ${d.isolatedBy.map(formatPolicyRef).join(', ')}, no rule matches`;
    case 'pass':
      return `Pass by ${refs(d.by)}: on to the next tier`;
    case 'undetermined':
      return `cannot be decided offline (${refs(d.undetermined.rules)}): ${UNDETERMINED[d.undetermined.why]}`;
    case 'no-opinion':
      return 'no rule matches';
    default:
      return assertNever(d);
  }
}

/** The tiers in the order they decide, each with what it said, while ClusterNetworkPolicies exist. */
function tierLines(ctx: EvalContext, q: DirectionQuery): string[] {
  const admin = ctx.clusterPolicies?.('Admin') ?? [];
  const baseline = ctx.clusterPolicies?.('Baseline') ?? [];
  if (admin.length === 0 && baseline.length === 0) return [];
  const cluster = (tier: ClusterTier): TierDecision =>
    clusterTierDecision(ctx, tier, clusterPoliciesSelecting(ctx, tier, q.subject), q);
  const steps: [string, () => TierDecision][] = [
    ['Admin ClusterNetworkPolicy', () => cluster('Admin')],
    ['NetworkPolicy', () => networkPolicyTier.decide(ctx, q)],
    ['Baseline ClusterNetworkPolicy', () => cluster('Baseline')],
  ];
  const lines = ['  Tiers, in order:'];
  let decided = false;
  steps.forEach(([name, decide], i) => {
    if (decided) {
      lines.push(`    ${i + 1}. ${name}: not reached`);
      return;
    }
    const d = decide();
    lines.push(`    ${i + 1}. ${name}: ${tierWords(d)}`);
    decided = d.kind === 'allow' || d.kind === 'deny' || d.kind === 'undetermined';
  });
  if (!decided) lines.push('    no tier decided: allowed (the Kubernetes default)');
  return lines;
}

function directionLines(
  ctx: EvalContext,
  direction: Direction,
  v: DirectionVerdict,
  traffic: Traffic,
): string[] {
  const subject = direction === 'egress' ? traffic.from.key : endpointName(traffic.to);
  const what = direction === 'egress' ? `Egress from ${subject}` : `Ingress to ${subject}`;
  if (v.note) return [`${what}: allowed; ${v.note}.`];
  const subjectPod =
    direction === 'egress' ? traffic.from : traffic.to.kind === 'pod' ? traffic.to.pod : undefined;
  const tiers = subjectPod
    ? tierLines(ctx, {
        direction,
        subject: subjectPod,
        peer: direction === 'egress' ? traffic.to : { kind: 'pod', pod: traffic.from },
        destination: traffic.to,
        port: traffic.port,
        protocol: traffic.protocol,
      })
    : [];
  const passed = v.passedBy?.length ? `passed by ${refs(v.passedBy)}, then ` : '';
  if (v.undetermined) {
    return [
      `${what}: CANNOT BE DECIDED OFFLINE: ${passed}${UNDETERMINED[v.undetermined.why]} (${refs(v.undetermined.rules)}).`,
      ...tiers,
    ];
  }
  if (v.tier) {
    const line = v.allowed
      ? `${what}: ${passed}accepted by ${refs(v.allowedBy)} (${v.tier} tier ClusterNetworkPolicy).`
      : `${what}: ${passed}DENIED by ${refs(v.deniedBy ?? [])} (${v.tier} tier ClusterNetworkPolicy).`;
    return [line, ...tiers];
  }
  if (passed && !v.isolated) {
    return [`${what}: allowed: ${passed}no later tier decided, so it is allowed.`, ...tiers];
  }
  if (passed && v.allowed) {
    return [
      `${what}: ${passed}allowed by ${refs(v.allowedBy)} (isolated by ${v.isolatedBy.map(formatPolicyRef).join(', ')}).`,
      ...tiers,
    ];
  }
  if (tiers.length > 0)
    return [...directionLinesNp(ctx, direction, v, traffic, what, subject, passed), ...tiers];
  return directionLinesNp(ctx, direction, v, traffic, what, subject, passed);
}

function directionLinesNp(
  ctx: EvalContext,
  direction: Direction,
  v: DirectionVerdict,
  traffic: Traffic,
  what: string,
  subject: string,
  passed: string,
): string[] {
  if (!v.isolated) {
    return [
      `${what}: allowed: not isolated (no NetworkPolicy in namespace ${subject.split('/')[0]} selects it with policyType ${direction === 'egress' ? 'Egress' : 'Ingress'}), so all ${direction} is allowed.`,
    ];
  }
  const isolatedBy = v.isolatedBy.map(formatPolicyRef).join(', ');
  if (v.allowed) {
    return [`${what}: allowed by ${v.allowedBy.map(formatRuleRef).join(', ')} (isolated by ${isolatedBy}).`];
  }
  const lines = [
    `${what}: DENIED: ${passed}isolated by ${isolatedBy}, and no ${direction} rule of these policies matches.`,
  ];
  const source: Endpoint = { kind: 'pod', pod: traffic.from };
  const peer = direction === 'egress' ? traffic.to : source;
  const subjectPod =
    direction === 'egress' ? traffic.from : traffic.to.kind === 'pod' ? traffic.to.pod : undefined;
  if (!subjectPod) return lines;
  for (const policy of policiesSelecting(ctx, subjectPod, direction)) {
    const rules = direction === 'egress' ? policy.egress : policy.ingress;
    if (rules.length === 0) {
      lines.push(`  ${formatPolicyRef(policy.ref)} has no ${direction} rules: it denies all ${direction}.`);
    }
    for (const rule of rules) {
      lines.push(`  ${ruleMiss(ctx, policy, rule, peer, traffic.to, traffic.port, traffic.protocol)}`);
    }
  }
  return lines;
}

/** The whole explanation of one flow, first line = the answer. */
export function explain(ctx: EvalContext, traffic: Traffic, verdict: Verdict): string[] {
  const flow = `${traffic.from.key} -> ${endpointName(traffic.to)} ${traffic.port}/${traffic.protocol}`;
  const head = verdict.allowed
    ? `ALLOWED ${flow}`
    : `DENIED ${flow} (by ${[!verdict.egress.allowed && 'egress', !verdict.ingress.allowed && 'ingress'].filter(Boolean).join(' and ')})`;
  const lines = [head, ...directionLines(ctx, 'egress', verdict.egress, traffic)];
  lines.push(...directionLines(ctx, 'ingress', verdict.ingress, traffic));
  if (traffic.protocol === 'SCTP' && !ctx.profile.sctpEnforced.value) {
    lines.push(
      `Note: profile ${ctx.profile.name} does not enforce SCTP rules (${ctx.profile.sctpEnforced.source}).`,
    );
  }
  return lines;
}
