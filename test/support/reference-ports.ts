// The default ports of a destination computed the obvious way, rule by rule, for tests to hold the
// engine's inverted index to: container ports, numeric ports of the ingress rules of its namespace's
// policies, numeric ports of every egress rule whose peers reach it; for an external target, the
// numeric ports of every egress rule (80/TCP when there are none).
import type { PortSpec } from '../../src/core/traffic.ts';
import { type EvalContext, peerMatches } from '../../src/policy/evaluate.ts';
import type { CompiledPolicy, CompiledRule, Endpoint } from '../../src/policy/types.ts';

function numeric(rules: readonly CompiledRule[], out: PortSpec[]): void {
  for (const rule of rules) {
    if (rule.ports.kind !== 'ports') continue;
    for (const m of rule.ports.ports) {
      if (m.kind !== 'port-range') continue;
      out.push({ port: m.from, protocol: m.protocol });
      if (m.to !== m.from) out.push({ port: m.to, protocol: m.protocol });
    }
  }
}

function sorted(ports: PortSpec[]): PortSpec[] {
  const unique = new Map(ports.map((p) => [`${p.port}/${p.protocol}`, p]));
  return [...unique.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

export function referenceDefaultPorts(
  ctx: EvalContext,
  allPolicies: readonly CompiledPolicy[],
  destination: Endpoint,
): PortSpec[] {
  const out: PortSpec[] = [];
  if (destination.kind === 'external') {
    for (const policy of allPolicies) numeric(policy.egress, out);
    return out.length === 0 ? [{ port: 80, protocol: 'TCP' }] : sorted(out);
  }
  for (const p of destination.pod.ports) out.push({ port: p.port, protocol: p.protocol });
  for (const policy of ctx.policiesIn(destination.pod.namespace)) numeric(policy.ingress, out);
  for (const policy of allPolicies) {
    numeric(
      policy.egress.filter(
        (rule) =>
          rule.ports.kind === 'ports' &&
          (rule.peers.kind === 'any-peer' ||
            rule.peers.peers.some((peer) => peerMatches(ctx, policy, peer, destination))),
      ),
      out,
    );
  }
  return sorted(out);
}
