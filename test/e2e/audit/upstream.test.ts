// The upstream conformance model (kubernetes test/e2e/network/netpol): namespaces x, y, z; pods a, b, c;
// ports 80 and 81, TCP and UDP; under upstream scenarios, `netaudit audit` with real packets on a
// correctly enforcing lab cluster finds zero mismatches.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LAB_IMAGE } from '../../../lab/image.ts';
import { ensureLabUp, labEnforcer } from '../../../lab/lab.ts';
import { applyText, deleteNamespaces, deleteObject, objectsOf, waitForPods } from '../support/apply.ts';
import { netaudit, parseAudit } from '../support/netaudit.ts';

const NS = ['x', 'y', 'z'];
const PODS = ['a', 'b', 'c'];

function model(): string {
  const docs: string[] = [];
  for (const ns of NS) {
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns}, labels: { ns: ${ns} } }`);
    for (const p of PODS) {
      docs.push(`apiVersion: v1
kind: Pod
metadata: { name: ${p}, namespace: ${ns}, labels: { pod: ${p} } }
spec:
  containers:
    - name: cont
      image: ${LAB_IMAGE}
      command: [netaudit]
      args: [agent, serve, --port, 80/TCP, --port, 80/UDP, --port, 81/TCP, --port, 81/UDP]
      ports:
        - { name: serve-80-tcp, containerPort: 80, protocol: TCP }
        - { name: serve-80-udp, containerPort: 80, protocol: UDP }
        - { name: serve-81-tcp, containerPort: 81, protocol: TCP }
        - { name: serve-81-udp, containerPort: 81, protocol: UDP }`);
    }
  }
  return docs.join('\n---\n');
}

function np(ns: string, name: string, spec: string): string {
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${spec}`;
}

const SCENARIOS: { name: string; policies: string[] }[] = [
  {
    name: 'default-deny-ingress',
    policies: [np('x', 'deny-ingress', '  podSelector: {}\n  policyTypes: [Ingress]')],
  },
  {
    name: 'default-deny-all (ingress and egress)',
    policies: [np('x', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress, Egress]')],
  },
  { name: 'egress deny', policies: [np('y', 'deny-egress', '  podSelector: {}\n  policyTypes: [Egress]')] },
  {
    name: 'namespaceSelector',
    policies: [
      np(
        'x',
        'allow-ns-y',
        '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: y } } }] }]',
      ),
    ],
  },
  {
    name: 'podSelector AND namespaceSelector',
    policies: [
      np(
        'x',
        'allow-yb',
        '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: y } }, podSelector: { matchLabels: { pod: b } } }] }]',
      ),
    ],
  },
  {
    name: 'podSelector OR namespaceSelector',
    policies: [
      np(
        'x',
        'allow-y-or-b',
        '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: y } } }, { podSelector: { matchLabels: { pod: b } } }] }]',
      ),
    ],
  },
  {
    name: 'matchExpressions (NotIn on namespaces, Exists on pods)',
    policies: [
      np(
        'x',
        'allow-expr',
        '  podSelector: { matchExpressions: [{ key: pod, operator: Exists }] }\n  ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: ns, operator: NotIn, values: [y] }] } }] }]',
      ),
    ],
  },
  {
    name: 'named port',
    policies: [
      np(
        'x',
        'allow-named',
        '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ ports: [{ port: serve-81-tcp, protocol: TCP }] }]',
      ),
    ],
  },
  {
    name: 'endPort range (TCP 80-81)',
    policies: [
      np(
        'x',
        'allow-range',
        '  podSelector: {}\n  ingress: [{ ports: [{ protocol: TCP, port: 80, endPort: 81 }] }]',
      ),
    ],
  },
  {
    name: 'UDP only',
    policies: [np('z', 'allow-udp', '  podSelector: {}\n  ingress: [{ ports: [{ protocol: UDP }] }]')],
  },
  {
    name: 'ipBlock with except (egress)',
    policies: [
      np(
        'x',
        'egress-cidr',
        '  podSelector: { matchLabels: { pod: a } }\n  policyTypes: [Egress]\n  egress: [{ to: [{ ipBlock: { cidr: 198.19.0.0/16, except: [198.19.2.0/24] } }] }]',
      ),
    ],
  },
  {
    name: 'multiple policies (union)',
    policies: [
      np('x', 'deny', '  podSelector: {}\n  policyTypes: [Ingress]'),
      np(
        'x',
        'allow-from-b',
        '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ podSelector: { matchLabels: { pod: b } } }] }]',
      ),
      np(
        'x',
        'allow-from-z',
        '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: z } } }], ports: [{ port: 80 }] }]',
      ),
    ],
  },
];

describe('netaudit audit on the upstream conformance model (lab, real packets)', {
  timeout: 1_800_000,
}, () => {
  before(async () => {
    await ensureLabUp();
    await applyText(model());
    await waitForPods(NS);
  });
  after(async () => {
    await deleteNamespaces(NS);
  });

  for (const scenario of SCENARIOS) {
    test(`${scenario.name}: zero mismatches`, async () => {
      const objects = await applyText(scenario.policies.join('\n---\n'));
      try {
        const run = await netaudit([
          'audit',
          '-n',
          'x',
          '-n',
          'y',
          '-n',
          'z',
          '--profile',
          labEnforcer(),
          '-o',
          'json',
        ]);
        const json = parseAudit(run);
        assert.deepEqual(json.mismatches, []);
        assert.deepEqual(json.failedPods, []);
        assert.equal(run.code, 0);
        assert.ok(json.summary.probes > 0);
      } finally {
        for (const o of objectsOf(scenario.policies.join('\n---\n'))) await deleteObject(o);
        void objects;
      }
    });
  }
});
