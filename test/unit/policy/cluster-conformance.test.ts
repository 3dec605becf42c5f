// Scenarios of the upstream ClusterNetworkPolicy conformance suite (sigs.k8s.io/network-policy-api
// v0.2.0, conformance/tests and conformance/base), transcribed onto its model: namespaces
// network-policy-conformance-{gryffindor,slytherin,hufflepuff,ravenclaw} (label conformance-house),
// two pods per house (harry-potter, draco-malfoy, cedric-diggory, luna-lovegood -0 and -1) serving
// 80/TCP (named web), 8080/TCP, 53/UDP (named dns), 5353/UDP, 9003/SCTP. Each expectation is the
// suite's own PokeServer(..., shouldConnect); both the naive evaluator and the engine must give it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  ClusterNetworkPolicy,
  ClusterNetworkPolicyRule,
  Namespace,
  NetworkPolicy,
  Pod,
} from '../../../src/core/k8s.ts';
import type { Protocol } from '../../../src/core/traffic.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { evaluate } from '../../../src/policy/evaluate.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext, podInfo } from '../../../src/policy/snapshot.ts';
import { formatRuleRef, type Verdict } from '../../../src/policy/types.ts';

const HOUSES = {
  gryffindor: 'harry-potter',
  slytherin: 'draco-malfoy',
  hufflepuff: 'cedric-diggory',
  ravenclaw: 'luna-lovegood',
} as const;
type House = keyof typeof HOUSES;
const nsOf = (h: House): string => `network-policy-conformance-${h}`;

const namespaces: Namespace[] = Object.keys(HOUSES).map((h) => ({
  metadata: { name: nsOf(h as House), labels: { 'conformance-house': h } },
}));
const pods: Pod[] = Object.entries(HOUSES).flatMap(([house, name], h) =>
  [0, 1].map((i) => ({
    metadata: {
      namespace: nsOf(house as House),
      name: `${name}-${i}`,
      labels: { 'conformance-house': house },
    },
    spec: {
      containers: [
        { name: 'web', ports: [{ containerPort: 80, protocol: 'TCP', name: 'web' }] },
        { name: 'dns', ports: [{ containerPort: 53, protocol: 'UDP', name: 'dns' }] },
      ],
    },
    status: { phase: 'Running', podIP: `10.1.${h}.${i + 10}`, podIPs: [{ ip: `10.1.${h}.${i + 10}` }] },
  })),
);

/** `gryffindor/0` -> the pod harry-potter-0 in network-policy-conformance-gryffindor. */
function podOf(ref: string): Pod {
  const [house, i] = ref.split('/') as [House, string];
  const found = pods.find((p) => p.metadata.name === `${HOUSES[house]}-${i}`);
  if (!found) throw new Error(ref);
  return found;
}

function cnp(
  name: string,
  tier: 'Admin' | 'Baseline',
  priority: number,
  subject: ClusterNetworkPolicy['spec']['subject'],
  rules: { ingress?: ClusterNetworkPolicyRule[]; egress?: ClusterNetworkPolicyRule[] },
): ClusterNetworkPolicy {
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha2',
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: { tier, priority, subject, ...rules },
  };
}

const byName = (h: House) => ({ matchLabels: { 'kubernetes.io/metadata.name': nsOf(h) } });
const byHouse = (h: House) => ({ matchLabels: { 'conformance-house': h } });
const housePods = (h: House) => ({ pods: { namespaceSelector: byHouse(h), podSelector: byHouse(h) } });
const tcp = (n: number) => [{ tcp: { destinationPort: { number: n } } }];
const udp = (n: number) => [{ udp: { destinationPort: { number: n } } }];

interface Scenario {
  readonly clusterPolicies: ClusterNetworkPolicy[];
  readonly policies?: NetworkPolicy[];
}

/** The verdict of one flow from the naive evaluator and from the engine, which must agree. */
function verdictOf(s: Scenario, from: string, to: string, port: number, protocol: Protocol): Verdict {
  const input = { namespaces, pods, policies: s.policies ?? [], clusterPolicies: s.clusterPolicies };
  const built = buildSnapshot(input, PROFILES.generic);
  assert.deepEqual(built.issues, []);
  const src = podInfo(podOf(from), PROFILES.generic);
  const dst = podInfo(podOf(to), PROFILES.generic);
  assert.ok(src.kind === 'pod' && dst.kind === 'pod');
  const naive = evaluate(evalContext(built.snapshot), {
    from: src.pod,
    to: { kind: 'pod', pod: dst.pod },
    port,
    protocol,
  });
  const engine = ExpectationEngine.from(input, PROFILES.generic).verdictFor(
    src.pod,
    { kind: 'pod', pod: dst.pod },
    port,
    protocol,
  );
  assert.deepEqual(engine, naive);
  return naive;
}

function poke(
  s: Scenario,
  from: string,
  to: string,
  proto: Protocol,
  port: number,
  shouldConnect: boolean,
): void {
  const v = verdictOf(s, from, to, port, proto);
  assert.equal(v.allowed, shouldConnect, `${from} -> ${to} ${port}/${proto}`);
}

describe('CNPAdminTierPriorityField (network-policy-api v0.2.0, base/admin_tier/standard-priority-field.yaml)', () => {
  const gryffindorPods = {
    pods: { namespaceSelector: byHouse('gryffindor'), podSelector: byHouse('gryffindor') },
  };
  const build = (passPriority: number): Scenario => ({
    clusterPolicies: [
      cnp('priority-50-example', 'Admin', 50, gryffindorPods, {
        ingress: [
          { name: 'deny-all-ingress-from-slytherin', action: 'Deny', from: [housePods('slytherin')] },
        ],
        egress: [{ name: 'deny-all-egress-to-slytherin', action: 'Deny', to: [housePods('slytherin')] }],
      }),
      cnp('old-priority-60-new-priority-40-example', 'Admin', passPriority, gryffindorPods, {
        ingress: [
          { name: 'pass-all-ingress-from-slytherin', action: 'Pass', from: [housePods('slytherin')] },
        ],
        egress: [{ name: 'pass-all-egress-to-slytherin', action: 'Pass', to: [housePods('slytherin')] }],
      }),
      cnp('default', 'Baseline', 10, gryffindorPods, {
        ingress: [
          { name: 'allow-all-ingress-from-slytherin', action: 'Accept', from: [housePods('slytherin')] },
        ],
        egress: [{ name: 'allow-all-egress-to-slytherin', action: 'Accept', to: [housePods('slytherin')] }],
      }),
    ],
  });

  test('Should Deny traffic from slytherin to gryffindor respecting admin CNP', () => {
    poke(build(60), 'slytherin/0', 'gryffindor/0', 'TCP', 80, false);
    poke(build(60), 'slytherin/1', 'gryffindor/0', 'TCP', 8080, false);
  });

  test('Should Deny traffic to slytherin from gryffindor respecting admin CNP', () => {
    poke(build(60), 'gryffindor/0', 'slytherin/0', 'TCP', 80, false);
    poke(build(60), 'gryffindor/1', 'slytherin/0', 'TCP', 8080, false);
    const v = verdictOf(build(60), 'gryffindor/0', 'slytherin/0', 80, 'TCP');
    assert.deepEqual(v.egress.deniedBy?.map(formatRuleRef), [
      'clusternetworkpolicy/priority-50-example#egress[0]',
    ]);
  });

  test('Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP', () => {
    poke(build(40), 'slytherin/0', 'gryffindor/0', 'TCP', 80, true);
    poke(build(40), 'slytherin/1', 'gryffindor/0', 'TCP', 8080, true);
    poke(build(40), 'gryffindor/0', 'slytherin/0', 'TCP', 80, true);
    poke(build(40), 'gryffindor/1', 'slytherin/0', 'TCP', 8080, true);
    const v = verdictOf(build(40), 'slytherin/0', 'gryffindor/0', 80, 'TCP');
    assert.deepEqual(v.ingress.passedBy?.map(formatRuleRef), [
      'clusternetworkpolicy/old-priority-60-new-priority-40-example#ingress[0]',
    ]);
    assert.deepEqual(v.ingress.allowedBy.map(formatRuleRef), ['clusternetworkpolicy/default#ingress[0]']);
    assert.equal(v.ingress.tier, 'Baseline');
  });
});

describe('CNPAdminTierIntegration (network-policy-api v0.2.0, base/api_integration/standard-anp-np-banp.yaml)', () => {
  const gryffindor = { namespaces: byHouse('gryffindor') };
  const admin = (action: 'Deny' | 'Pass') =>
    cnp('pass-example', 'Admin', 10, gryffindor, {
      ingress: [{ action, from: [{ namespaces: byHouse('slytherin') }] }],
      egress: [{ action, to: [{ namespaces: byHouse('slytherin') }] }],
    });
  const baseline = cnp('default', 'Baseline', 10, gryffindor, {
    ingress: [{ action: 'Deny', from: [{ namespaces: byHouse('slytherin') }] }],
    egress: [{ action: 'Deny', to: [{ namespaces: byHouse('slytherin') }] }],
  });
  const np: NetworkPolicy = {
    metadata: { namespace: nsOf('gryffindor'), name: 'allow-gress-from-to-slytherin-to-gryffindor' },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: byHouse('slytherin') }] }],
      egress: [{ to: [{ namespaceSelector: byHouse('slytherin') }] }],
    },
  };

  test('Should Deny traffic from slytherin to gryffindor respecting admin CNP', () => {
    const s = { clusterPolicies: [admin('Deny'), baseline], policies: [np] };
    poke(s, 'slytherin/0', 'gryffindor/0', 'TCP', 80, false);
    poke(s, 'slytherin/1', 'gryffindor/0', 'TCP', 8080, false);
  });

  test("Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy", () => {
    const s = { clusterPolicies: [admin('Pass'), baseline], policies: [np] };
    poke(s, 'slytherin/0', 'gryffindor/0', 'TCP', 80, true);
    poke(s, 'slytherin/1', 'gryffindor/0', 'TCP', 8080, true);
    // The chain the explanation reads: passed by the Admin rule, then allowed by the NetworkPolicy.
    const v = verdictOf(s, 'slytherin/0', 'gryffindor/0', 80, 'TCP');
    assert.deepEqual(v.ingress.passedBy?.map(formatRuleRef), [
      'clusternetworkpolicy/pass-example#ingress[0]',
    ]);
    assert.deepEqual(v.ingress.allowedBy.map(formatRuleRef), [
      'network-policy-conformance-gryffindor/allow-gress-from-to-slytherin-to-gryffindor#ingress[0]',
    ]);
  });

  test("Should support a 'pass-egress' policy for admin CNP and respect the match for network policy", () => {
    const s = { clusterPolicies: [admin('Pass'), baseline], policies: [np] };
    poke(s, 'gryffindor/0', 'slytherin/0', 'TCP', 80, true);
    poke(s, 'gryffindor/1', 'slytherin/0', 'TCP', 8080, true);
  });

  test("Should support a 'pass-ingress' and 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy", () => {
    // The suite deletes the NetworkPolicy: the Baseline Deny decides.
    const s = { clusterPolicies: [admin('Pass'), baseline] };
    poke(s, 'slytherin/0', 'gryffindor/0', 'TCP', 80, false);
    poke(s, 'slytherin/1', 'gryffindor/0', 'TCP', 8080, false);
    poke(s, 'gryffindor/0', 'slytherin/0', 'TCP', 80, false);
    poke(s, 'gryffindor/1', 'slytherin/0', 'TCP', 8080, false);
  });
});

describe('CNPAdminTierIngressTCP (network-policy-api v0.2.0, base/admin_tier/standard-ingress-tcp-rules.yaml)', () => {
  const from = (h: House) => [{ namespaces: byName(h) }];
  const rules: ClusterNetworkPolicyRule[] = [
    { name: 'allow-from-ravenclaw-everything', action: 'Accept', from: from('ravenclaw') },
    { name: 'deny-from-ravenclaw-everything', action: 'Deny', from: from('ravenclaw') },
    { name: 'pass-from-ravenclaw-everything', action: 'Pass', from: from('ravenclaw') },
    { name: 'deny-from-slytherin-at-port-80', action: 'Deny', from: from('slytherin'), protocols: tcp(80) },
    { name: 'pass-from-slytherin-at-port-80', action: 'Pass', from: from('slytherin'), protocols: tcp(80) },
    {
      name: 'allow-from-hufflepuff-at-port-80',
      action: 'Accept',
      from: from('hufflepuff'),
      protocols: tcp(80),
    },
    { name: 'deny-from-hufflepuff-everything-else', action: 'Deny', from: from('hufflepuff') },
  ];
  const build = (order: ClusterNetworkPolicyRule[]): Scenario => ({
    clusterPolicies: [
      cnp('ingress-tcp', 'Admin', 3, { namespaces: byName('gryffindor') }, { ingress: order }),
    ],
  });
  const swap = (i: number, j: number): ClusterNetworkPolicyRule[] => {
    const out = [...rules];
    [out[i], out[j]] = [out[j] as ClusterNetworkPolicyRule, out[i] as ClusterNetworkPolicyRule];
    return out;
  };

  test("Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected", () => {
    poke(build(rules), 'ravenclaw/0', 'gryffindor/0', 'TCP', 80, true);
    poke(build(rules), 'ravenclaw/1', 'gryffindor/0', 'TCP', 8080, true);
  });

  test("Should support an 'allow-ingress' policy for TCP protocol at the specified port", () => {
    poke(build(rules), 'hufflepuff/0', 'gryffindor/1', 'TCP', 80, true);
    poke(build(rules), 'hufflepuff/1', 'gryffindor/1', 'TCP', 8080, false);
  });

  test("Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected", () => {
    poke(build(swap(0, 1)), 'ravenclaw/0', 'gryffindor/0', 'TCP', 80, false);
    poke(build(swap(0, 1)), 'ravenclaw/1', 'gryffindor/0', 'TCP', 8080, false);
  });

  test("Should support a 'deny-ingress' policy for TCP protocol at the specified port", () => {
    poke(build(rules), 'slytherin/0', 'gryffindor/1', 'TCP', 80, false);
    poke(build(rules), 'slytherin/1', 'gryffindor/1', 'TCP', 8080, true);
  });

  test("Should support an 'pass-ingress' policy for TCP protocol; ensure rule ordering is respected", () => {
    poke(build(swap(0, 2)), 'ravenclaw/0', 'gryffindor/0', 'TCP', 80, true);
    poke(build(swap(0, 2)), 'ravenclaw/1', 'gryffindor/0', 'TCP', 8080, true);
    const v = verdictOf(build(swap(0, 2)), 'ravenclaw/0', 'gryffindor/0', 80, 'TCP');
    assert.equal(v.ingress.isolated, false, 'passed on, and no later tier decides: the default allows');
  });

  test("Should support a 'pass-ingress' policy for TCP protocol at the specified port", () => {
    poke(build(swap(3, 4)), 'slytherin/0', 'gryffindor/1', 'TCP', 80, true);
    poke(build(swap(3, 4)), 'slytherin/1', 'gryffindor/1', 'TCP', 8080, true);
  });
});

describe('CNPAdminTierIngressNamedPort (network-policy-api v0.2.0, base/admin_tier/standard-ingress-udp-rules.yaml)', () => {
  const from = (h: House) => [{ namespaces: byName(h) }];
  test("Should support an 'allow-ingress' policy for named port", () => {
    const s = {
      clusterPolicies: [
        cnp(
          'ingress-udp',
          'Admin',
          4,
          { namespaces: byName('hufflepuff') },
          {
            ingress: [
              { name: 'allow-from-ravenclaw-everything', action: 'Accept', from: from('ravenclaw') },
              { name: 'deny-from-ravenclaw-everything', action: 'Deny', from: from('ravenclaw') },
              { name: 'pass-from-ravenclaw-everything', action: 'Pass', from: from('ravenclaw') },
              {
                name: 'deny-from-slytherin-at-port-5353',
                action: 'Deny',
                from: from('slytherin'),
                protocols: udp(5353),
              },
              {
                name: 'pass-from-slytherin-at-port-5353',
                action: 'Pass',
                from: from('slytherin'),
                protocols: udp(5353),
              },
              // The suite rewrites rule 5 (UDP 53) as the named port "dns".
              {
                name: 'allow-from-gryffindor-at-port-53',
                action: 'Accept',
                from: from('gryffindor'),
                protocols: [{ destinationNamedPort: 'dns' }],
              },
              { name: 'deny-from-gryffindor-everything-else', action: 'Deny', from: from('gryffindor') },
            ],
          },
        ),
      ],
    };
    poke(s, 'gryffindor/0', 'hufflepuff/1', 'UDP', 53, true);
    poke(s, 'gryffindor/1', 'hufflepuff/1', 'UDP', 5353, false);
    // "dns" is 53/UDP on the destination: 53/TCP is not that port.
    poke(s, 'gryffindor/1', 'hufflepuff/1', 'TCP', 53, false);
  });
});

describe('CNPBaselineTierEgressInlineCIDRPeers (network-policy-api v0.2.0, base/baseline_tier/standard-egress-inline-cidr-rules.yaml)', () => {
  const rules: ClusterNetworkPolicyRule[] = [
    { name: 'allow-egress-to-slytherin', action: 'Accept', to: [housePods('slytherin')] },
    { name: 'deny-egress-to-internet', action: 'Deny', to: [{ networks: ['0.0.0.0/0', '::/0'] }] },
  ];
  const build = (egress: ClusterNetworkPolicyRule[]): Scenario => ({
    clusterPolicies: [cnp('default', 'Baseline', 10, { namespaces: byName('gryffindor') }, { egress })],
  });
  const everyProtocol = (s: Scenario, to: string, shouldConnect: boolean): void => {
    poke(s, 'gryffindor/1', to, 'TCP', 80, shouldConnect);
    poke(s, 'gryffindor/1', to, 'UDP', 53, shouldConnect);
    poke(s, 'gryffindor/1', to, 'SCTP', 9003, shouldConnect);
  };

  test("Should support a 'deny-egress' rule policy for egress-cidr-peer", () => {
    everyProtocol(build(rules), 'ravenclaw/0', false);
    everyProtocol(build(rules), 'hufflepuff/0', false);
    everyProtocol(build(rules), 'slytherin/0', true);
  });

  test("Should support an 'allow-egress' rule policy for egress-cidr-peer", () => {
    const ip = (ref: string): string => `${podOf(ref).status?.podIP}/32`;
    const allow: ClusterNetworkPolicyRule = {
      name: 'allow-egress-to-specific-podIPs',
      action: 'Accept',
      to: [{ networks: [ip('ravenclaw/0'), ip('hufflepuff/0')] }],
    };
    const s = build([allow, ...rules]);
    everyProtocol(s, 'ravenclaw/0', true);
    everyProtocol(s, 'hufflepuff/0', true);
    everyProtocol(s, 'ravenclaw/1', false);
    everyProtocol(s, 'hufflepuff/1', false);
  });
});
