/**
 * Enforcement is per node, and the lab's faults break it the way real clusters break:
 * `fault enforcer-off --node N` opens exactly the flows node N enforced (egress of its pods, ingress
 * to its pods) and not those another node enforces; `fault clear` closes them again; `fault drop`
 * drops exactly one flow, even one that kube-router explicitly accepts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeSpec } from '../../../lab/config.ts';
import { agentApi } from '../../../lab/enforcer/cilium.ts';
import {
  createNamespace,
  createNetworkPolicy,
  deleteNamespaces,
  ensureLabUp,
  expectReach,
  labCommand,
  labEnforcer,
  labNodes,
  serverPod,
  startPods,
} from '../../../lab/lab.ts';
import { isAlive } from '../../../lab/procs.ts';
import { inNetns } from '../../../lab/sh.ts';
import { readState } from '../../../lab/state.ts';

const NS = `lab-faults-${Date.now().toString(36)}`;
const ip = new Map<string, string>();
const tcp = (pod: string, port = 80) => `tcp:${ip.get(pod)}:${port}`;
const udp = (pod: string, port = 80) => `udp:${ip.get(pod)}:${port}`;

/** The policy-enforcement mode a node's cilium-agent has realized. */
async function realizedEnforcement(node: string): Promise<string | undefined> {
  const r = await agentApi(node, 'GET', '/config');
  return (JSON.parse(r.body) as { status?: { realized?: { 'policy-enforcement'?: string } } }).status
    ?.realized?.['policy-enforcement'];
}

describe('lab faults', () => {
  let n1 = '';
  let n2 = '';
  before(async () => {
    await ensureLabUp();
    [n1 = '', n2 = ''] = labNodes();
    await createNamespace(NS);
    // egress-locked (node 1): may send nothing. ingress-locked (node 2): accepts only role=client on 81.
    const pods = await startPods(NS, [
      serverPod('egress-locked', { node: n1, labels: { lock: 'egress' } }),
      serverPod('ingress-locked', { node: n2, labels: { lock: 'ingress' } }),
      serverPod('c1', { node: n1, labels: { role: 'client' } }),
      serverPod('c2', { node: n2, labels: { role: 'client' } }),
    ]);
    for (const [name, p] of pods) ip.set(name, p.status?.podIP ?? '');
    await createNetworkPolicy(NS, {
      metadata: { name: 'egress-lock' },
      spec: { podSelector: { matchLabels: { lock: 'egress' } }, policyTypes: ['Egress'] },
    });
    await createNetworkPolicy(NS, {
      metadata: { name: 'ingress-lock' },
      spec: {
        podSelector: { matchLabels: { lock: 'ingress' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 81 }] }],
      },
    });
    await expectReach(NS, 'egress-locked', [tcp('c2'), udp('c2'), tcp('c1')], false);
    await expectReach(NS, 'c1', [tcp('ingress-locked'), udp('ingress-locked')], false);
    await expectReach(NS, 'c1', [tcp('ingress-locked', 81)], true);
  });
  after(async () => {
    await labCommand(['fault', 'clear']).catch(() => {});
    await deleteNamespaces([NS]);
  });

  it('enforcer-off on the egress node opens its egress, not the other node’s ingress', async () => {
    await labCommand(['fault', 'enforcer-off', '--node', n1]);
    const s = readState();
    if (labEnforcer() === 'cilium') {
      // Cilium's fault is a live agent that stopped enforcing (its programs stay attached).
      assert.equal(isAlive(s.processes[`cilium-agent-${n1}`]), true);
      assert.equal(await realizedEnforcement(n1), 'never');
      assert.equal(await realizedEnforcement(n2), 'default');
    } else {
      assert.equal(isAlive(s.processes[`kube-router-${n1}`]), false);
      assert.equal(isAlive(s.processes[`kube-router-${n2}`]), true);
      const rules = await inNetns(nodeSpec(1).netns, 'iptables-save', []);
      assert.doesNotMatch(rules.stdout, /KUBE-/);
      const sets = await inNetns(nodeSpec(1).netns, 'ipset', ['list', '-n']);
      assert.equal(sets.stdout.trim(), '');
    }
    await expectReach(NS, 'egress-locked', [tcp('c2'), udp('c2'), tcp('c1')], true);
    // Ingress to the node-2 pod is still enforced by node 2.
    await expectReach(NS, 'c1', [tcp('ingress-locked'), udp('ingress-locked')], false);
    await expectReach(NS, 'egress-locked', [tcp('ingress-locked', 81)], false);
    await labCommand(['fault', 'clear']);
    await expectReach(NS, 'egress-locked', [tcp('c2'), udp('c2'), tcp('c1')], false);
  });

  it('enforcer-off on the ingress node opens its ingress, not the other node’s egress', async () => {
    await labCommand(['fault', 'enforcer-off', '--node', n2]);
    await expectReach(NS, 'c1', [tcp('ingress-locked'), udp('ingress-locked')], true);
    await expectReach(NS, 'egress-locked', [tcp('c2'), tcp('ingress-locked', 81)], false);
    await labCommand(['fault', 'clear']);
    await expectReach(NS, 'c1', [tcp('ingress-locked'), udp('ingress-locked')], false);
    await expectReach(NS, 'c1', [tcp('ingress-locked', 81)], true);
  });

  it('a pod created while its node does not enforce still starts (a broken CNI does not stop pods)', async () => {
    await labCommand(['fault', 'enforcer-off', '--node', n1]);
    const pods = await startPods(NS, [serverPod('late', { node: n1, labels: { lock: 'egress' } })]);
    ip.set('late', pods.get('late')?.status?.podIP ?? '');
    await expectReach(NS, 'late', [tcp('c2')], true);
    await labCommand(['fault', 'clear']);
    await expectReach(NS, 'late', [tcp('c2')], false);
  });

  it('drop drops exactly that flow, even one kube-router accepts', async () => {
    await labCommand([
      'fault',
      'drop',
      '--from',
      `${NS}/c1`,
      '--to',
      `${NS}/ingress-locked`,
      '--port',
      '81/TCP',
    ]);
    await expectReach(NS, 'c1', [tcp('ingress-locked', 81)], false);
    const r = await expectReach(NS, 'c2', [tcp('ingress-locked', 81)], true);
    assert.equal(r[0]?.result, 'connected');
    await labCommand(['fault', 'drop', '--from', `${NS}/c1`, '--to', `${NS}/c2`, '--port', '80/UDP']);
    const blocked = await expectReach(NS, 'c1', [udp('c2')], false);
    assert.equal(blocked[0]?.result, 'timeout', 'a stray drop is silent');
    await expectReach(NS, 'c1', [tcp('c2', 80), tcp('c2', 81)], true);
    await expectReach(NS, 'c2', [udp('c1')], true);
    await labCommand(['fault', 'clear']);
    await expectReach(NS, 'c1', [tcp('ingress-locked', 81), udp('c2')], true);
  });
});
