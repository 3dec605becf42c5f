// Random clusters and policies for property tests: small vocabularies so that selectors, named ports
// and ipBlocks actually collide with the pods generated.
import fc from 'fast-check';
import type {
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from '../../src/core/k8s.ts';
import { parseIpLiteral } from '../../src/policy/cidr.ts';
import type { ParsedIP } from '../../src/policy/types.ts';

const NAMESPACES = ['a', 'b', 'c'];
const label = fc.record(
  {
    app: fc.constantFrom('web', 'db', 'api'),
    tier: fc.constantFrom('fe', 'be'),
    team: fc.constantFrom('x', 'y'),
  },
  { requiredKeys: [] },
);

const selector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant({}),
  fc.record({ matchLabels: label }),
  fc.record({
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({
          key: fc.constantFrom('app', 'tier', 'team'),
          operator: fc.constantFrom('In', 'NotIn'),
          values: fc.uniqueArray(fc.constantFrom('web', 'db', 'api', 'fe', 'be', 'x', 'y'), {
            minLength: 1,
            maxLength: 2,
          }),
        }),
        fc.record({
          key: fc.constantFrom('app', 'tier', 'team'),
          operator: fc.constantFrom('Exists', 'DoesNotExist'),
        }),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({ matchLabels: label, matchExpressions: fc.constant([{ key: 'app', operator: 'Exists' }]) }),
);

const cidr = fc.oneof(
  fc.constant({ cidr: '10.0.0.0/24' }),
  fc.constant({ cidr: '10.0.0.0/29', except: ['10.0.0.4/30'] }),
  fc.constant({ cidr: '10.0.0.0/8', except: ['10.0.0.2/32', '10.0.0.6/31'] }),
  fc.constant({ cidr: '203.0.113.0/24' }),
  fc.constant({ cidr: '0.0.0.0/0', except: ['203.0.113.8/32'] }),
);

const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: selector }),
  fc.record({ namespaceSelector: selector, podSelector: selector }),
  fc.record({ ipBlock: cidr }),
);

const port: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record(
    { protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom(80, 53, 9090, 443) },
    { requiredKeys: ['port'] },
  ),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP') }),
  fc.record({ port: fc.constant(79), endPort: fc.constantFrom(81, 9090) }),
  fc.record(
    { protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom('http', 'dns', 'metrics') },
    { requiredKeys: ['port'] },
  ),
);

const peers = fc.option(fc.array(peer, { maxLength: 3 }), { nil: undefined });
const ports = fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined });

export const policyArb: fc.Arbitrary<NetworkPolicy> = fc
  .record({
    ns: fc.constantFrom(...NAMESPACES),
    name: fc.stringMatching(/^[a-z]{1,4}$/),
    podSelector: selector,
    policyTypes: fc.option(fc.subarray(['Ingress', 'Egress'], { minLength: 1 }), { nil: undefined }),
    ingress: fc.option(fc.array(fc.record({ from: peers, ports }), { maxLength: 2 }), { nil: undefined }),
    egress: fc.option(fc.array(fc.record({ to: peers, ports }), { maxLength: 2 }), { nil: undefined }),
  })
  .map((p) => ({
    metadata: { namespace: p.ns, name: p.name },
    spec: {
      podSelector: p.podSelector,
      ...(p.policyTypes ? { policyTypes: p.policyTypes } : {}),
      ...(p.ingress ? { ingress: p.ingress } : {}),
      ...(p.egress ? { egress: p.egress } : {}),
    },
  }));

const containerPorts = fc.subarray([
  { name: 'http', containerPort: 80, protocol: 'TCP' },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
  { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
  { name: 'alt', containerPort: 81, protocol: 'TCP' },
]);
const containerPortsRenamed = fc.subarray([
  { name: 'http', containerPort: 8080, protocol: 'TCP' },
  { name: 'dns', containerPort: 53, protocol: 'TCP' },
]);

export const podArb = (i: number): fc.Arbitrary<Pod> =>
  fc
    .record({
      ns: fc.constantFrom(...NAMESPACES),
      labels: label,
      ip: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
      ports: fc.oneof(containerPorts, containerPortsRenamed),
    })
    .map((p) => ({
      metadata: { namespace: p.ns, name: `p${i}`, labels: p.labels },
      spec: { containers: [{ name: 'c', ports: p.ports }] },
      ...(p.ip !== undefined
        ? { status: { phase: 'Running', podIP: `10.0.0.${p.ip}`, podIPs: [{ ip: `10.0.0.${p.ip}` }] } }
        : {}),
    }));

export const namespaceArb = (name: string): fc.Arbitrary<Namespace> =>
  label.map((labels) => ({ metadata: { name, labels } }));

export const clusterArb = fc.record({
  namespaces: fc.tuple(...NAMESPACES.map(namespaceArb)),
  pods: fc
    .integer({ min: 1, max: 8 })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => podArb(i)))),
  policies: fc.array(policyArb, { maxLength: 4 }).map((list) => {
    // Unique names per namespace, as the API server enforces.
    const seen = new Set<string>();
    return list.filter((p) => {
      const k = `${p.metadata.namespace}/${p.metadata.name}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }),
});

/** Addresses outside the cluster, as the engine's `externals` option takes them. */
export function externalTargets(...texts: string[]): { text: string; ip: ParsedIP }[] {
  return texts.map((text) => {
    const ip = parseIpLiteral(text);
    if (!ip.ok) throw new Error(ip.error);
    return { text, ip: ip.value };
  });
}

/** One address outside the cluster. */
export const EXTERNAL_TARGETS = externalTargets('203.0.113.8');
