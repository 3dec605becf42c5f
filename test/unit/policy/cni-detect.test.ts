// `--profile auto`: the CNI recognised from what runs in the cluster, with what was found and why.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CniEvidence, detectProfile } from '../../../src/policy/cni-detect.ts';

const pod = (key: string, labels: Record<string, string>, ...images: string[]) => {
  const [namespace, name] = key.split('/') as [string, string];
  return { namespace, name, labels, images };
};
const node = (name: string, ...annotations: string[]) => ({ name, annotations });
const coredns = pod(
  'kube-system/coredns-5d78c9869d-abcde',
  { 'k8s-app': 'kube-dns' },
  'registry.k8s.io/coredns/coredns:v1.11.1',
);

describe('CNI detection for --profile auto', () => {
  const cases: { name: string; evidence: CniEvidence; profile: string; found: number; reason: RegExp }[] = [
    {
      name: 'Cilium by its agent label',
      evidence: {
        pods: [
          coredns,
          pod(
            'kube-system/cilium-x7k2p',
            { 'k8s-app': 'cilium' },
            'quay.io/cilium/cilium:v1.16.5@sha256:abc',
          ),
        ],
        nodes: [],
      },
      profile: 'cilium',
      found: 1,
      reason: /^Cilium runs in the cluster \(pod kube-system\/cilium-x7k2p \(label k8s-app=cilium\)\)$/,
    },
    {
      name: 'Calico (operator install, calico-system) by its agent label, and its node annotations',
      evidence: {
        pods: [
          pod(
            'calico-system/calico-node-9zq8w',
            { 'k8s-app': 'calico-node' },
            'docker.io/calico/node:v3.29.1',
          ),
        ],
        nodes: [node('n1', 'projectcalico.org/IPv4Address'), node('n2', 'node.alpha.kubernetes.io/ttl')],
      },
      profile: 'calico',
      found: 2,
      reason:
        /^Calico runs in the cluster \(pod calico-system\/calico-node-9zq8w \(label k8s-app=calico-node\) and 1 more\)$/,
    },
    {
      name: 'kube-router by its image, whatever its labels',
      evidence: {
        pods: [
          pod('kube-system/kube-router-abc12', { app: 'kr' }, 'docker.io/cloudnativelabs/kube-router:v2.1.0'),
        ],
        nodes: [],
      },
      profile: 'kube-router',
      found: 1,
      reason: /image docker\.io\/cloudnativelabs\/kube-router:v2\.1\.0/,
    },
    {
      name: 'Cilium nodes seen only through their annotations',
      evidence: { pods: [], nodes: [node('n1', 'io.cilium.network.ipv4-pod-cidr')] },
      profile: 'cilium',
      found: 1,
      reason: /node n1 \(annotation io\.cilium\.network\.ipv4-pod-cidr\)/,
    },
    {
      name: 'two CNIs: Cilium wins and the other is named',
      evidence: {
        pods: [
          pod('kube-system/calico-node-1', { 'k8s-app': 'calico-node' }),
          pod('kube-system/cilium-1', { 'k8s-app': 'cilium' }),
        ],
        nodes: [],
      },
      profile: 'cilium',
      found: 2,
      reason: /; also found Calico$/,
    },
    {
      name: 'nothing recognised: generic, saying so',
      evidence: {
        pods: [
          coredns,
          pod('kube-system/kube-flannel-ds-1', { app: 'flannel' }, 'docker.io/flannel/flannel:v0.25.1'),
        ],
        nodes: [node('n1', 'flannel.alpha.coreos.com/public-ip')],
      },
      profile: 'generic',
      found: 0,
      reason: /^no Cilium, Calico or kube-router agent pod or node annotation found/,
    },
    {
      name: 'an image that only mentions a CNI in its path is not one',
      evidence: {
        pods: [
          pod(
            'tools/debug',
            {},
            'ghcr.io/example/cilium-debug-tools:1.0',
            'ghcr.io/example/calico-node-exporter:1',
          ),
        ],
        nodes: [],
      },
      profile: 'generic',
      found: 0,
      reason: /^no Cilium/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = detectProfile(c.evidence);
      assert.equal(d.profile, c.profile);
      assert.equal(d.found.length, c.found, d.found.join('; '));
      assert.match(d.reason, c.reason);
    });
  }
});
