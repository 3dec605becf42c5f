// Shared by the tests of reading JSON Lists (cuts of unread values, the worker thread).

import type { LoadResult } from '../../../src/model/manifest-loader.ts';

export const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    annotations: { 'a/b': 'x', 'k:{"name":"c"}': '{"x": [1, 2.5e-3, true, null]}' },
    creationTimestamp: '2026-11-30T08:14:03Z',
    labels: { app: 'web', tier: 'front' },
    managedFields: [
      {
        apiVersion: 'v1',
        fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'k:{"type":"Ready"}': {} },
        manager: 'kubelet',
        time: '2026-11-30T08:14:03Z',
      },
    ],
    name: 'web-1',
    namespace: 'a',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u' }],
    uid: 'uid-1',
  },
  spec: {
    containers: [
      {
        env: [{ name: 'X', value: 'é \\ " \u2028' }],
        image: 'img',
        name: 'c',
        ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
        resources: { limits: { memory: '1Gi' } },
      },
    ],
    nodeName: 'n1',
    tolerations: [{ key: 'k', operator: 'Exists', tolerationSeconds: -300 }],
    volumes: [],
  },
  status: {
    conditions: [{ lastProbeTime: null, status: 'True', type: 'Ready' }],
    hostIP: '10.0.0.1',
    phase: 'Running',
    podIP: '10.1.0.5',
    podIPs: [{ ip: '10.1.0.5' }],
  },
};

export const OBJECTS: unknown[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'a', labels: { team: 't' }, annotations: { x: 'y' } },
  },
  POD,
  { ...POD, metadata: { ...POD.metadata, name: 'web-2', labels: { app: 'web', 'bad label': 'x' } } },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'a', annotations: { 'kubectl.kubernetes.io/last-applied': '{}' } },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ podSelector: {} }] }],
      ingres: [],
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'a', managedFields: [{ manager: 'm' }] },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'd' } },
      template: {
        metadata: { labels: { app: 'd' }, annotations: { a: 'b' } },
        spec: { containers: [{ name: 'c', image: 'i', env: [] }] },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'a' },
    spec: { ports: [{ port: 80 }] },
  },
  { apiVersion: 'v1', kind: 'pod', metadata: { name: 'near-miss' }, spec: {} },
  { metadata: { name: 'no-kind' }, spec: { containers: [] } },
  {
    kind: 'List',
    apiVersion: 'v1',
    items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nested', managedFields: [] } }],
  },
];

/** A List as kubectl writes it (4-space indentation, items before kind). */
export function list(objects: readonly unknown[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', items: objects, kind: 'List', metadata: { resourceVersion: '' } }, null, 4)}\n`;
}

/** What a LoadResult says, without lines (the expectation above has none). */
export function outcome(r: LoadResult): unknown {
  return {
    namespaces: r.namespaces.map((n) => [n.ref, n.object]),
    pods: r.pods.map((p) => [p.ref, p.object, p.origin]),
    policies: r.policies.map((p) => [p.ref, p.object]),
    skipped: r.skipped,
    issues: r.issues.map((i) => [i.severity, i.object, i.field, i.message]),
  };
}
