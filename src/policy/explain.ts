// Explanations: a verdict in words a person debugging a policy can act on. Pure functions of the
// verdict and the traffic; the "near misses" say, for a denial, why each rule did not match.
import {
  type EvalContext,
  peerMatches,
  policiesSelecting,
  portMatches,
  resolveNamedPort,
} from './evaluate.ts';
import { formatSelector } from './labels.ts';
import {
  type CompiledPolicy,
  type CompiledRule,
  type Direction,
  type DirectionVerdict,
  type Endpoint,
  formatPolicyRef,
  formatRuleRef,
  type PeerMatcher,
  type PortMatcher,
  type Traffic,
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

function directionLines(
  ctx: EvalContext,
  direction: Direction,
  v: DirectionVerdict,
  traffic: Traffic,
): string[] {
  const subject = direction === 'egress' ? traffic.from.key : endpointName(traffic.to);
  const what = direction === 'egress' ? `Egress from ${subject}` : `Ingress to ${subject}`;
  if (v.note) return [`${what}: allowed; ${v.note}.`];
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
    `${what}: DENIED: isolated by ${isolatedBy}, and no ${direction} rule of these policies matches.`,
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

function assertNever(x: never): never {
  throw new Error(`unexpected case ${JSON.stringify(x)}`);
}
