/**
 * The lab enforces NetworkPolicies as upstream semantics say, proven with real TCP connections and UDP
 * datagrams from inside pod network namespaces (the lab's own nettool, not netaudit's engine), using
 * the example policies of examples/seed/. The examples' public DNS address is played by the
 * stand-in 203.0.113.8. Pods are spread over two nodes, so most flows cross nodes.
 */
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  createNetworkPolicy,
  deleteNamespaces,
  deleteNetworkPolicy,
  ensureLabUp,
  expectReach,
  labEnforcer,
  labNodes,
  serverPod,
  startPods,
} from '../../../lab/lab.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';

const id = Date.now().toString(36);
const PROD = `lab-prod-${id}`;
const SEC = `lab-sec-${id}`;
const OTHER = `lab-other-${id}`;
const ip = new Map<string, string>();

/** A NetworkPolicy as written in a manifest (plain JSON, sent as is). */
interface Policy {
  metadata: { name: string };
  spec: Record<string, unknown>;
}
const created: { ns: string; name: string }[] = [];

async function apply(ns: string, ...policies: Policy[]): Promise<void> {
  for (const body of policies) {
    await createNetworkPolicy(ns, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...body });
    created.push({ ns, name: body.metadata.name });
  }
}

async function removeAll(): Promise<void> {
  while (created.length) {
    const p = created.pop();
    if (p) await deleteNetworkPolicy(p.ns, p.name);
  }
}

const tcp = (pod: string, port = 80) => `tcp:${ip.get(pod)}:${port}`;
const udp = (pod: string, port = 80) => `udp:${ip.get(pod)}:${port}`;
const open = (ns: string, from: string, targets: string[]) => expectReach(ns, from, targets, true);
const closed = (ns: string, from: string, targets: string[]) => expectReach(ns, from, targets, false);

const defaultDenyAll: Policy = {
  metadata: { name: 'default-deny-all' },
  spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
};

describe('lab enforcement of the seed example policies', () => {
  before(async () => {
    await ensureLabUp();
    const [n1 = '', n2 = ''] = labNodes();
    await createNamespace(PROD);
    await createNamespace(SEC);
    await createNamespace(OTHER);
    const prod = await startPods(PROD, [
      serverPod('app', { node: n1, labels: { role: 'app' } }),
      serverPod('db', { node: n2, labels: { role: 'database' } }),
      serverPod('web', { node: n1, labels: { role: 'web' } }),
      serverPod('sus', { node: n2, labels: { role: 'suspicious' } }),
    ]);
    const sec = await startPods(SEC, [serverPod('scanner', { node: n2 })]);
    const other = await startPods(OTHER, [
      serverPod('o1', { node: n1, labels: { role: 'app' } }),
      serverPod('o2', { node: n2 }),
    ]);
    for (const m of [prod, sec, other]) for (const [name, p] of m) ip.set(name, p.status?.podIP ?? '');
  });
  after(async () => {
    await removeAll().catch(() => {});
    await deleteNamespaces([PROD, SEC, OTHER]);
  });

  it('without policies everything connects (TCP and UDP, across nodes, to stand-ins)', async () => {
    await open(OTHER, 'o1', [tcp('app'), tcp('db'), udp('db'), tcp('sus', 81)]);
    await open(PROD, 'app', [
      tcp('o2'),
      udp('o2'),
      'tcp:203.0.113.8:80',
      'udp:203.0.113.8:53',
      'tcp:203.0.113.9:443',
    ]);
  });

  it('default-deny-all blocks ingress and egress of every pod in the namespace, and only there', async () => {
    await apply(PROD, defaultDenyAll);
    await closed(OTHER, 'o1', [tcp('app'), udp('app'), tcp('db'), udp('db', 80)]);
    await closed(SEC, 'scanner', [tcp('db'), tcp('web', 81)]);
    await closed(PROD, 'app', [
      tcp('o2'),
      udp('o2'),
      tcp('db'),
      tcp('web'),
      'tcp:203.0.113.8:80',
      'udp:203.0.113.8:53',
    ]);
    await open(OTHER, 'o1', [tcp('o2'), udp('o2'), tcp('scanner')]);
    await removeAll();
    await open(OTHER, 'o1', [tcp('app'), udp('db')]);
  });

  it('allow-ingress (ingress: [{}]) opens ingress while egress stays denied', async () => {
    await apply(PROD, defaultDenyAll, {
      metadata: { name: 'allow-ingress' },
      spec: { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] },
    });
    await open(OTHER, 'o1', [tcp('app'), tcp('db'), udp('db')]);
    await open(SEC, 'scanner', [tcp('web', 81)]);
    await closed(PROD, 'app', [tcp('o2'), tcp('db')]);
    await removeAll();
  });

  it('suspicious-pod isolates role=suspicious both ways, and nothing else', async () => {
    await apply(PROD, {
      metadata: { name: 'suspicious-pod' },
      spec: { podSelector: { matchLabels: { role: 'suspicious' } }, policyTypes: ['Ingress', 'Egress'] },
    });
    await closed(OTHER, 'o1', [tcp('sus'), udp('sus')]);
    await closed(PROD, 'app', [tcp('sus')]);
    await closed(PROD, 'sus', [tcp('o1'), tcp('app'), 'tcp:203.0.113.8:80']);
    await open(OTHER, 'o1', [tcp('db'), tcp('app')]);
    await removeAll();
  });

  it('podSelector role=app -> role=database: only app pods of the same namespace reach the database', async () => {
    await apply(PROD, {
      metadata: { name: 'app-to-database' },
      spec: {
        podSelector: { matchLabels: { role: 'database' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'app' } } }] }],
      },
    });
    await open(PROD, 'app', [tcp('db'), tcp('db', 81), udp('db')]);
    await closed(PROD, 'web', [tcp('db'), udp('db')]);
    // A podSelector alone means the policy's namespace: role=app elsewhere does not count.
    await closed(OTHER, 'o1', [tcp('db')]);
    await open(OTHER, 'o1', [tcp('web')]);
    await removeAll();
  });

  it('ports narrow a rule to one port and protocol', async () => {
    await apply(PROD, {
      metadata: { name: 'app-to-database-80' },
      spec: {
        podSelector: { matchLabels: { role: 'database' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { role: 'app' } } }],
            ports: [{ port: 80, protocol: 'TCP' }],
          },
        ],
      },
    });
    await open(PROD, 'app', [tcp('db', 80)]);
    await closed(PROD, 'app', [tcp('db', 81), udp('db', 80)]);
    await removeAll();
  });

  it('namespaceSelector kubernetes.io/metadata.name=security admits only the security namespace', async () => {
    await apply(PROD, {
      metadata: { name: 'namespace-selector' },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': SEC } } }] }],
      },
    });
    await open(SEC, 'scanner', [tcp('app'), tcp('db'), udp('web')]);
    await closed(OTHER, 'o1', [tcp('app'), tcp('db')]);
    await closed(PROD, 'web', [tcp('app')]);
    await removeAll();
  });

  it('egress ipBlock 203.0.113.8/32 (stand-in for the seed public DNS address) allows only that address', async () => {
    await apply(PROD, {
      metadata: { name: 'outbound-8888' },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '203.0.113.8/32' } }] }],
      },
    });
    await open(PROD, 'app', ['tcp:203.0.113.8:80', 'tcp:203.0.113.8:443', 'udp:203.0.113.8:53']);
    await closed(PROD, 'app', ['tcp:203.0.113.9:80', 'udp:203.0.113.9:53', tcp('o2'), tcp('db')]);
    // Egress isolation says nothing about ingress.
    await open(OTHER, 'o1', [tcp('app'), tcp('db')]);
    await removeAll();
  });

  it('ipBlock except carves addresses out of an egress rule', async () => {
    await apply(PROD, {
      metadata: { name: 'except-egress' },
      spec: {
        podSelector: { matchLabels: { role: 'app' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.9/32'] } }] }],
      },
    });
    await open(PROD, 'app', ['tcp:203.0.113.8:80', 'udp:203.0.113.8:53']);
    await closed(PROD, 'app', ['tcp:203.0.113.9:80', 'udp:203.0.113.9:53']);
    await open(PROD, 'web', ['tcp:203.0.113.9:80']);
    await removeAll();
  });

  it('ipBlock except on ingress, matching pod IPs (cross-node)', async () => {
    await apply(PROD, {
      metadata: { name: 'except-ingress' },
      spec: {
        podSelector: { matchLabels: { role: 'database' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '198.18.0.0/15', except: [`${ip.get('o1')}/32`] } }] }],
      },
    });
    await closed(OTHER, 'o1', [tcp('db'), udp('db')]);
    // Whether an ipBlock selects pod IPs at all is the enforcer's choice (Cilium: only with
    // --policy-cidr-match-mode=pods, off by default): the lab's enforcer is measured against its profile.
    const matches = PROFILES[labEnforcer()].ipBlockMatchesPodIPs.value;
    await expectReach(OTHER, 'o2', [tcp('db'), udp('db')], matches);
    await expectReach(PROD, 'app', [tcp('db')], matches);
    await removeAll();
  });
});
