// Random ClusterNetworkPolicies for property tests, over the same small vocabularies as
// arbitraries.ts (namespaces a/b/c, labels app/tier/team, named ports http/dns/metrics, 10.0.0.x pod
// IPs) so that subjects, peers, named ports and networks collide with the pods generated.
import fc from 'fast-check';
import type {
  ClusterNetworkPolicy,
  ClusterNetworkPolicyPeer,
  ClusterNetworkPolicyProtocol,
  ClusterNetworkPolicyRule,
  LabelSelector,
} from '../../src/core/k8s.ts';
import { clusterArb } from './arbitraries.ts';

const labelSelector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant({}),
  fc
    .record(
      {
        app: fc.constantFrom('web', 'db', 'api'),
        tier: fc.constantFrom('fe', 'be'),
        team: fc.constantFrom('x', 'y'),
      },
      { requiredKeys: [] },
    )
    .map((matchLabels) => ({ matchLabels })),
  fc
    .record({
      key: fc.constantFrom('app', 'tier', 'team'),
      operator: fc.constantFrom('In', 'NotIn'),
      values: fc.uniqueArray(fc.constantFrom('web', 'db', 'x', 'fe'), { minLength: 1, maxLength: 2 }),
    })
    .map((e) => ({ matchExpressions: [e] })),
);

const namespaceSelector: fc.Arbitrary<LabelSelector> = fc.oneof(
  labelSelector,
  fc.constantFrom('a', 'b', 'c').map((n) => ({ matchLabels: { 'kubernetes.io/metadata.name': n } })),
);

const podsPeer = fc.record({ namespaceSelector, podSelector: labelSelector });

const ingressPeer: fc.Arbitrary<ClusterNetworkPolicyPeer> = fc.oneof(
  namespaceSelector.map((namespaces) => ({ namespaces })),
  podsPeer.map((pods) => ({ pods })),
);

const egressPeer: fc.Arbitrary<ClusterNetworkPolicyPeer> = fc.oneof(
  { weight: 3, arbitrary: ingressPeer },
  {
    weight: 1,
    arbitrary: fc
      .subarray(['10.0.0.0/30', '10.0.0.4/31', '203.0.113.0/24', '0.0.0.0/0'], { minLength: 1 })
      .map((networks) => ({ networks })),
  },
  { weight: 1, arbitrary: labelSelector.map((nodes) => ({ nodes })) },
);

const protocol: fc.Arbitrary<ClusterNetworkPolicyProtocol> = fc.oneof(
  fc
    .record({ p: fc.constantFrom('tcp', 'udp'), n: fc.constantFrom(80, 53, 9090) })
    .map(({ p, n }) => ({ [p]: { destinationPort: { number: n } } })),
  fc.constant({ tcp: { destinationPort: { range: { start: 79, end: 81 } } } }),
  fc.constantFrom('http', 'dns', 'metrics').map((destinationNamedPort) => ({ destinationNamedPort })),
);

const rule = (peer: fc.Arbitrary<ClusterNetworkPolicyPeer>, key: 'from' | 'to') =>
  fc
    .record({
      action: fc.constantFrom('Accept', 'Deny', 'Pass'),
      peers: fc.array(peer, { minLength: 1, maxLength: 2 }),
      protocols: fc.option(fc.array(protocol, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    })
    .map(
      (r): ClusterNetworkPolicyRule => ({
        action: r.action,
        [key]: r.peers,
        ...(r.protocols ? { protocols: r.protocols } : {}),
      }),
    );

export const clusterPolicyArb: fc.Arbitrary<ClusterNetworkPolicy> = fc
  .record({
    name: fc.constantFrom('p1', 'p2', 'p3', 'p4', 'p5'),
    tier: fc.constantFrom('Admin', 'Baseline'),
    // Few values: equal priorities happen often.
    priority: fc.constantFrom(0, 10, 10, 20),
    subject: fc.oneof(
      namespaceSelector.map((namespaces) => ({ namespaces })),
      podsPeer.map((pods) => ({ pods })),
    ),
    ingress: fc.array(rule(ingressPeer, 'from'), { maxLength: 2 }),
    egress: fc.array(rule(egressPeer, 'to'), { maxLength: 2 }),
  })
  .map((p) => ({
    apiVersion: 'policy.networking.k8s.io/v1alpha2',
    kind: 'ClusterNetworkPolicy',
    metadata: { name: p.name },
    spec: { tier: p.tier, priority: p.priority, subject: p.subject, ingress: p.ingress, egress: p.egress },
  }));

/** Unique names, as the API server enforces for a cluster-scoped kind. */
export const clusterPoliciesArb = fc.array(clusterPolicyArb, { maxLength: 4 }).map((list) => {
  const seen = new Set<string>();
  return list.filter((p) => {
    if (seen.has(p.metadata.name ?? '')) return false;
    seen.add(p.metadata.name ?? '');
    return true;
  });
});

export const clusterWithCnpArb = fc
  .tuple(clusterArb, clusterPoliciesArb)
  .map(([cluster, clusterPolicies]) => ({ ...cluster, clusterPolicies }));
