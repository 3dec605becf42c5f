/**
 * What the NetworkPolicy spec leaves to the enforcer around the node itself, measured with real packets
 * on the lab's enforcer: a host-network pod is not policed (the profile's `hostNetworkPodsPoliced`),
 * traffic from a pod's own node passes an ingress default deny while another node's is dropped, and a
 * pod always reaches its own IP. netaudit never probes from a node and never lists a pod's traffic to
 * itself, so only the first is a profile behaviour; the others are facts the audit relies on.
 */
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  createNetworkPolicy,
  deleteNamespaces,
  ensureLabUp,
  expectReach,
  labEnforcer,
  labExternals,
  labNodes,
  podNet,
  serverPod,
  startPods,
} from '../../../lab/lab.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';

const NS = `lab-host-${Date.now().toString(36)}`;
let serverIP = '';

/** A pod in the node's network namespace (hostNetwork), selected by the namespace's policies. */
function hostPod(name: string, node: string) {
  const pod = serverPod(name, { node, labels: { role: 'host' }, ports: ['8181/TCP'] });
  if (pod.spec) pod.spec.hostNetwork = true;
  return pod;
}

describe('traffic from and to the node (lab enforcer, real packets)', () => {
  before(async () => {
    await ensureLabUp();
    const [n1, n2] = labNodes();
    if (!n1 || !n2) throw new Error('the lab needs two nodes');
    await createNamespace(NS);
    await startPods(NS, [
      serverPod('srv', { node: n1, labels: { role: 'server' } }),
      hostPod('host-1', n1),
      hostPod('host-2', n2),
    ]);
    serverIP = (await podNet(NS, 'srv')).ip;
    // Every pod of the namespace, the host-network ones included, isolated both ways, nothing allowed.
    await createNetworkPolicy(NS, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-all' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  });
  after(async () => {
    await deleteNamespaces([NS]);
  });

  it('a host-network pod selected by an egress default deny still reaches a stand-in, as its profile says', async () => {
    const external = labExternals().ips[0];
    if (!external) throw new Error('the lab has no stand-in');
    const policed = PROFILES[labEnforcer()].hostNetworkPodsPoliced.value;
    // TCP only: under the Cilium lab, UDP from a node netns to a stand-in gets no answer even with no
    // policy at all (measured; kube-router's lab answers), so UDP would not tell policing apart.
    await expectReach(NS, 'host-1', [`tcp:${external}:80`, `tcp:${external}:443`], !policed);
  });

  it('the pod’s own node passes its ingress default deny; another node does not', async () => {
    await expectReach(NS, 'host-1', [`tcp:${serverIP}:80`, `udp:${serverIP}:80`], true);
    await expectReach(NS, 'host-2', [`tcp:${serverIP}:80`, `udp:${serverIP}:80`], false);
  });

  it('a pod reaches its own IP under a default deny of both directions', async () => {
    await expectReach(NS, 'srv', [`tcp:${serverIP}:80`, `udp:${serverIP}:80`], true);
  });
});
