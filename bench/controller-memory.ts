// Memory of the real `netaudit controller` process (bin/netaudit, a child process) holding a 10k-pod /
// 1k-policy cluster in its informer caches and its incremental engine, against a fake API server in
// this process (plain HTTP on 127.0.0.1 only). The fake server serves LIST + WATCH of namespaces, pods
// and networkpolicies (watches stay open with a BOOKMARK every few seconds, as a quiet real cluster
// does) and a Lease held by another replica until far in the future: the controller stays a follower,
// so no probe round ever runs and what is measured is the caches, the engine and the runtime.
// Objects are as a real API server returns them (uid, resourceVersion, ownerReferences,
// managedFields, full spec and status), since what the caches keep is whole objects.
//
//   source scripts/node-env.sh
//   node bench/controller-memory.ts --label before          # empty cluster, then 10k pods / 1k policies
//   node bench/controller-memory.ts --label after --merge   # same, added to the results file
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Namespace, NetworkPolicy, Pod } from '../src/core/k8s.ts';
import { MiB, round } from './measure.ts';
import { type ClusterShape, generateCluster, Rng } from './synthetic.ts';

// BENCH_NETAUDIT_ROOT: measure another build of netaudit (e.g. compiled to dist/, as the image could ship).
const root = process.env.BENCH_NETAUDIT_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const LEASE_NAMESPACE = 'netaudit';
const LEASE_NAME = 'netaudit-controller';
const PROBE_LABEL = 'netaudit.io/probe';

type Json = Record<string, unknown>;

// ---- realistic API objects ----

const BASE_TIME = Date.UTC(2026, 9, 1, 8, 0, 0);
const iso = (offsetS: number): string =>
  new Date(BASE_TIME + offsetS * 1000).toISOString().replace('.000', '');

function hex(rng: Rng, n: number): string {
  let s = '';
  while (s.length < n) s += rng.int(0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

function uid(rng: Rng): string {
  const h = hex(rng, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `{"f:a":{},"f:b":{}}` for the given field names, as managedFields spell a set of leaves. */
function leaves(names: readonly string[]): Json {
  return Object.fromEntries(names.map((n) => [`f:${n}`, {}]));
}

function labelFields(labels: Readonly<Record<string, string>>): Json {
  return { '.': {}, ...leaves(Object.keys(labels)) };
}

interface ObjectCounter {
  rv: number;
}

function fullPod(pod: Pod, rng: Rng, counter: ObjectCounter, index: number): Json {
  const labels = pod.metadata.labels ?? {};
  const app = labels.app ?? 'app';
  const hash = labels['pod-template-hash'] ?? '0';
  const container = pod.spec.containers[0];
  const cname = container?.name ?? app;
  const image = container?.image ?? `registry.example/${app}:1`;
  const node = pod.spec.nodeName ?? 'node-0';
  const nodeNumber = Number(node.slice(5)) || 0;
  const hostIP = `10.0.${(nodeNumber >> 8) & 255}.${nodeNumber & 255}`;
  const podIP = pod.status?.podIP ?? '';
  const ownerUid = uid(rng);
  const created = index;
  const fullLabels: Record<string, string> = {
    ...labels,
    'app.kubernetes.io/name': app,
    'app.kubernetes.io/instance': `${app}-${pod.metadata.namespace}`,
    'app.kubernetes.io/version': '1.4.2',
  };
  const annotations = {
    'kubectl.kubernetes.io/restartedAt': iso(created - 3600),
    'prometheus.io/scrape': 'true',
  };
  const env = [
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'PORT', value: String(container?.ports?.[0]?.containerPort ?? 8080) },
    { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability.svc:4317' },
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
  ];
  const ports = (container?.ports ?? []).map((p) => ({
    name: p.name,
    containerPort: p.containerPort,
    protocol: p.protocol ?? 'TCP',
  }));
  const apiAccess = `kube-api-access-${hex(rng, 5)}`;
  const containerID = `containerd://${hex(rng, 64)}`;
  const imageID = `${image.split(':')[0]}@sha256:${hex(rng, 64)}`;
  const started = created + 4;
  const specFields: Json = {
    'f:containers': {
      [`k:{"name":"${cname}"}`]: {
        '.': {},
        'f:env': {
          '.': {},
          ...Object.fromEntries(
            env.map((e) => [
              `k:{"name":"${e.name}"}`,
              e.value !== undefined
                ? { '.': {}, 'f:name': {}, 'f:value': {} }
                : {
                    '.': {},
                    'f:name': {},
                    'f:valueFrom': { '.': {}, 'f:fieldRef': leaves(['apiVersion', 'fieldPath']) },
                  },
            ]),
          ),
        },
        ...leaves(['image', 'imagePullPolicy', 'name', 'terminationMessagePath', 'terminationMessagePolicy']),
        'f:ports': {
          '.': {},
          ...Object.fromEntries(
            ports.map((p) => [
              `k:{"containerPort":${p.containerPort},"protocol":"${p.protocol}"}`,
              { '.': {}, ...leaves(['containerPort', 'name', 'protocol']) },
            ]),
          ),
        },
        'f:readinessProbe': {
          '.': {},
          ...leaves(['failureThreshold', 'periodSeconds', 'successThreshold', 'timeoutSeconds']),
          'f:tcpSocket': { '.': {}, 'f:port': {} },
        },
        'f:resources': { '.': {}, 'f:limits': leaves(['memory']), 'f:requests': leaves(['cpu', 'memory']) },
        'f:securityContext': {
          '.': {},
          ...leaves(['allowPrivilegeEscalation', 'readOnlyRootFilesystem']),
          'f:capabilities': { '.': {}, 'f:drop': {} },
        },
        'f:volumeMounts': {
          '.': {},
          'k:{"mountPath":"/tmp"}': { '.': {}, ...leaves(['mountPath', 'name']) },
        },
      },
    },
    ...leaves([
      'dnsPolicy',
      'enableServiceLinks',
      'restartPolicy',
      'schedulerName',
      'serviceAccount',
      'serviceAccountName',
      'terminationGracePeriodSeconds',
    ]),
    'f:securityContext': {
      '.': {},
      ...leaves(['fsGroup', 'runAsNonRoot']),
      'f:seccompProfile': { '.': {}, 'f:type': {} },
    },
    'f:volumes': { '.': {}, 'k:{"name":"tmp"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} } },
  };
  const conditionTypes = [
    'PodReadyToStartContainers',
    'Initialized',
    'Ready',
    'ContainersReady',
    'PodScheduled',
  ];
  const statusFields: Json = {
    'f:status': {
      'f:conditions': Object.fromEntries(
        conditionTypes
          .filter((t) => t !== 'PodScheduled')
          .map((t) => [
            `k:{"type":"${t}"}`,
            { '.': {}, ...leaves(['lastProbeTime', 'lastTransitionTime', 'status', 'type']) },
          ]),
      ),
      ...leaves(['containerStatuses', 'hostIP', 'phase', 'podIP', 'startTime']),
      'f:hostIPs': {},
      'f:podIPs': { '.': {}, [`k:{"ip":"${podIP}"}`]: { '.': {}, 'f:ip': {} } },
    },
  };
  counter.rv++;
  return {
    metadata: {
      name: pod.metadata.name,
      generateName: `${app}-${hash}-`,
      namespace: pod.metadata.namespace,
      uid: uid(rng),
      resourceVersion: String(counter.rv),
      creationTimestamp: iso(created),
      labels: fullLabels,
      annotations,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-${hash}`,
          uid: ownerUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: iso(created),
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': { '.': {}, ...leaves(Object.keys(annotations)) },
              'f:generateName': {},
              'f:labels': labelFields(fullLabels),
              'f:ownerReferences': { '.': {}, [`k:{"uid":"${ownerUid}"}`]: {} },
            },
            'f:spec': specFields,
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: iso(started),
          fieldsType: 'FieldsV1',
          fieldsV1: statusFields,
          subresource: 'status',
        },
      ],
    },
    spec: {
      volumes: [
        { name: 'tmp', emptyDir: {} },
        {
          name: apiAccess,
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              {
                downwardAPI: {
                  items: [
                    { path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
                  ],
                },
              },
            ],
            defaultMode: 420,
          },
        },
      ],
      containers: [
        {
          name: cname,
          image,
          ports,
          env,
          resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [
            { name: 'tmp', mountPath: '/tmp' },
            { name: apiAccess, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          ],
          readinessProbe: {
            tcpSocket: { port: ports[0]?.containerPort ?? 8080 },
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext: {
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
          },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: node,
      securityContext: { runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: 'Running',
      conditions: conditionTypes.map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: iso(
          type === 'PodScheduled' || type === 'Initialized' ? created + 1 : started + 2,
        ),
      })),
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: iso(created + 1),
      containerStatuses: [
        {
          name: cname,
          state: { running: { startedAt: iso(started) } },
          lastState: {},
          ready: true,
          restartCount: 0,
          image,
          imageID,
          containerID,
          started: true,
          volumeMounts: [
            { name: 'tmp', mountPath: '/tmp' },
            {
              name: apiAccess,
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true,
              recursiveReadOnly: 'Disabled',
            },
          ],
        },
      ],
      qosClass: 'Burstable',
    },
  };
}

/** A selector's managedFields shape: matchLabels keys, matchExpressions as a list. */
function selectorFields(sel: Json | undefined): Json {
  if (!sel) return {};
  const out: Json = {};
  const ml = sel.matchLabels as Record<string, string> | undefined;
  if (ml) out['f:matchLabels'] = { '.': {}, ...leaves(Object.keys(ml)) };
  if (sel.matchExpressions) out['f:matchExpressions'] = {};
  return out;
}

function fullPolicy(np: NetworkPolicy, rng: Rng, counter: ObjectCounter, index: number): Json {
  // The raw JSON an API server sends (`from`, not client-node's `_from`).
  const spec = JSON.parse(JSON.stringify(np.spec)) as Json;
  const ruleFields = (rules: unknown, peerKey: string): Json =>
    Object.fromEntries(
      ((rules as Json[] | undefined) ?? []).map((r, i) => [
        `i:${i}`,
        {
          ...(r[peerKey] ? { [`f:${peerKey}`]: {} } : {}),
          ...(r.ports ? { 'f:ports': {} } : {}),
        },
      ]),
    );
  const labels = {
    'app.kubernetes.io/managed-by': 'Helm',
    'app.kubernetes.io/part-of': `${np.metadata.namespace}-platform`,
  };
  const annotations = {
    'meta.helm.sh/release-name': `${np.metadata.namespace}-policies`,
    'meta.helm.sh/release-namespace': np.metadata.namespace ?? '',
  };
  counter.rv++;
  return {
    metadata: {
      name: np.metadata.name,
      namespace: np.metadata.namespace,
      uid: uid(rng),
      resourceVersion: String(counter.rv),
      generation: 1,
      creationTimestamp: iso(index),
      labels,
      annotations,
      managedFields: [
        {
          manager: 'helm',
          operation: 'Update',
          apiVersion: 'networking.k8s.io/v1',
          time: iso(index),
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': { '.': {}, ...leaves(Object.keys(annotations)) },
              'f:labels': labelFields(labels),
            },
            'f:spec': {
              ...(spec.egress ? { 'f:egress': ruleFields(spec.egress, 'to') } : {}),
              ...(spec.ingress ? { 'f:ingress': ruleFields(spec.ingress, 'from') } : {}),
              'f:podSelector': selectorFields(spec.podSelector as Json | undefined),
              'f:policyTypes': {},
            },
          },
        },
      ],
    },
    spec,
  };
}

function fullNamespace(ns: Namespace, rng: Rng, counter: ObjectCounter, index: number): Json {
  const labels = ns.metadata.labels ?? {};
  counter.rv++;
  return {
    metadata: {
      name: ns.metadata.name,
      uid: uid(rng),
      resourceVersion: String(counter.rv),
      creationTimestamp: iso(index - 86_400),
      labels,
      managedFields: [
        {
          manager: 'kubectl-create',
          operation: 'Update',
          apiVersion: 'v1',
          time: iso(index - 86_400),
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': labelFields(labels) } },
        },
      ],
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

interface Dataset {
  readonly name: string;
  readonly counts: { namespaces: number; pods: number; policies: number };
  readonly avgBytes: { namespace: number; pod: number; policy: number };
  readonly listBytes: { namespaces: number; pods: number; policies: number };
  readonly rv: string;
  readonly lists: { namespaces: Buffer; pods: Buffer; policies: Buffer };
  /** The same, as items, for paged LISTs (`limit` and `continue`, as the API server pages). */
  readonly pages: Record<
    'namespaces' | 'pods' | 'policies',
    { kind: string; apiVersion: string; items: Json[] }
  >;
}

/** One page of a LIST; the continue token is the offset of the next item. */
function pageBody(
  list: { kind: string; apiVersion: string; items: Json[] },
  rv: string,
  limit: number,
  from: number,
): Buffer {
  const items = list.items.slice(from, from + limit);
  const next = from + limit < list.items.length ? String(from + limit) : undefined;
  return Buffer.from(
    JSON.stringify({
      kind: list.kind,
      apiVersion: list.apiVersion,
      metadata: { resourceVersion: rv, ...(next ? { continue: next } : {}) },
      items,
    }),
  );
}

function listBody(kind: string, apiVersion: string, rv: string, items: readonly Json[]): Buffer {
  // Items carry no kind/apiVersion in a real LIST; the list does.
  return Buffer.from(JSON.stringify({ kind, apiVersion, metadata: { resourceVersion: rv }, items }));
}

function average(items: readonly Json[]): number {
  if (items.length === 0) return 0;
  let total = 0;
  for (const o of items) total += Buffer.byteLength(JSON.stringify(o));
  return Math.round(total / items.length);
}

function buildDataset(name: string, shape: ClusterShape | undefined, seed: number): Dataset {
  const counter: ObjectCounter = { rv: 1000 };
  let namespaces: Json[] = [];
  let pods: Json[] = [];
  let policies: Json[] = [];
  if (shape) {
    const cluster = generateCluster(shape, seed);
    const rng = new Rng(seed + 1);
    namespaces = cluster.namespaces.map((n, i) => fullNamespace(n, rng, counter, i));
    pods = cluster.pods.map((p, i) => fullPod(p, rng, counter, i));
    policies = cluster.policies.map((p, i) => fullPolicy(p, rng, counter, i));
  }
  const rv = String(counter.rv);
  const lists = {
    namespaces: listBody('NamespaceList', 'v1', rv, namespaces),
    pods: listBody('PodList', 'v1', rv, pods),
    policies: listBody('NetworkPolicyList', 'networking.k8s.io/v1', rv, policies),
  };
  return {
    name,
    counts: { namespaces: namespaces.length, pods: pods.length, policies: policies.length },
    avgBytes: { namespace: average(namespaces), pod: average(pods), policy: average(policies) },
    listBytes: {
      namespaces: lists.namespaces.length,
      pods: lists.pods.length,
      policies: lists.policies.length,
    },
    rv,
    lists,
    pages: {
      namespaces: { kind: 'NamespaceList', apiVersion: 'v1', items: namespaces },
      pods: { kind: 'PodList', apiVersion: 'v1', items: pods },
      policies: { kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1', items: policies },
    },
  };
}

// ---- the fake API server ----

interface FakeApi {
  readonly server: Server;
  readonly port: number;
  dataset: Dataset;
  readonly requests: Map<string, number>;
  closeWatches(): void;
  /** Leader mode: when the Lease was written (created or renewed), and round milestones. */
  readonly leaseWrites: number[];
  /** When the bench started taking diagnostics (a heap snapshot), after the measured phase. */
  diagnosticsFrom: number | undefined;
  readonly roundMarks: { nodesListed: number[]; firstCreate: number[] };
}

function send(res: ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const notFound = (what: string): string =>
  JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${what} not found`,
    reason: 'NotFound',
    code: 404,
  });

async function startFakeApi(dataset: Dataset, bookmarkMs: number, leaderMode = false): Promise<FakeApi> {
  const watches = new Set<ServerResponse>();
  const requests = new Map<string, number>();
  let lease: Json | undefined;
  const api: FakeApi = {
    server: undefined as unknown as Server,
    port: 0,
    dataset,
    requests,
    leaseWrites: [],
    diagnosticsFrom: undefined,
    roundMarks: { nodesListed: [], firstCreate: [] },
    closeWatches: () => {
      for (const w of watches) w.end();
      watches.clear();
    },
  };
  const collections: Record<string, { list: keyof Dataset['lists']; kind: string; apiVersion: string }> = {
    '/api/v1/namespaces': { list: 'namespaces', kind: 'Namespace', apiVersion: 'v1' },
    '/api/v1/pods': { list: 'pods', kind: 'Pod', apiVersion: 'v1' },
    '/apis/networking.k8s.io/v1/networkpolicies': {
      list: 'policies',
      kind: 'NetworkPolicy',
      apiVersion: 'networking.k8s.io/v1',
    },
  };
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases/${LEASE_NAME}`;
  const list = (kind: string, items: Json[] = []): string =>
    JSON.stringify({ kind: `${kind}List`, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
  const readBody = (req: IncomingMessage, then: (body: Json) => void): void => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      try {
        then(JSON.parse(Buffer.concat(parts).toString() || '{}') as Json);
      } catch {
        then({});
      }
    });
  };
  /**
   * Leader mode: the Lease is free, so the controller takes it, renews it (each write is timed) and
   * starts a round. The round finds two nodes, no Service or PodDisruptionBudget, no probe pods, and
   * plans; its first create (the round's owner ConfigMap or a pod) is refused, so it ends there with
   * the planning done and nothing left to clean up. What is measured: planning time (node list to
   * first create), RSS during it, and the gaps between Lease writes.
   */
  const leaderRoute = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const p = url.pathname;
    if (p === leasePath || p === `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`) {
      if (req.method === 'GET') {
        send(res, lease ? 200 : 404, lease ? JSON.stringify(lease) : notFound(p));
        return true;
      }
      readBody(req, (body) => {
        const version = Number((lease?.metadata as Json | undefined)?.resourceVersion ?? 0) + 1;
        lease = { ...body, metadata: { ...(body.metadata as Json), resourceVersion: String(version) } };
        api.leaseWrites.push(Date.now());
        send(res, req.method === 'POST' ? 201 : 200, JSON.stringify(lease));
      });
      return true;
    }
    if (req.method === 'GET' && p === `/api/v1/namespaces/${LEASE_NAMESPACE}`) {
      send(
        res,
        200,
        JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: LEASE_NAMESPACE } }),
      );
      return true;
    }
    if (req.method === 'POST' && p.endsWith('/selfsubjectaccessreviews')) {
      readBody(req, (body) => send(res, 201, JSON.stringify({ ...body, status: { allowed: true } })));
      return true;
    }
    if (req.method === 'GET' && p === '/api/v1/nodes') {
      api.roundMarks.nodesListed.push(Date.now());
      const node = (name: string): Json => ({
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        spec: {},
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
      send(res, 200, list('Node', [node('node-1'), node('node-2')]));
      return true;
    }
    if (req.method === 'GET' && (p === '/api/v1/services' || p === '/apis/policy/v1/poddisruptionbudgets')) {
      send(res, 200, list(p.endsWith('services') ? 'Service' : 'PodDisruptionBudget'));
      return true;
    }
    if (req.method === 'GET' && p.includes('/events')) {
      send(res, 200, list('Event'));
      return true;
    }
    const selector = url.searchParams.get('labelSelector') ?? '';
    if (
      req.method === 'GET' &&
      /\/pods$|\/configmaps$/.test(p) &&
      selector.includes(PROBE_LABEL) &&
      !selector.startsWith('!')
    ) {
      send(res, 200, list(p.endsWith('pods') ? 'Pod' : 'ConfigMap'));
      return true;
    }
    if (req.method === 'DELETE') {
      send(res, 200, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Success' }));
      return true;
    }
    if (req.method === 'POST' && /\/(pods|configmaps)$/.test(p)) {
      api.roundMarks.firstCreate.push(Date.now());
      send(
        res,
        403,
        JSON.stringify({
          kind: 'Status',
          code: 403,
          reason: 'Forbidden',
          message: 'the benchmark creates no probe pod',
        }),
      );
      return true;
    }
    return false;
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const collection = collections[url.pathname];
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const key = `${req.method} ${url.pathname}${watching ? ' (watch)' : ''}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    if (leaderMode && leaderRoute(req, res, url)) return;
    if (req.method === 'GET' && collection) {
      const selector = url.searchParams.get('labelSelector');
      // The synthetic pods carry no probe label, so `!netaudit.io/probe` selects them all; any other
      // selector would mean the controller asks for something this server does not model.
      if (selector !== null && selector !== `!${PROBE_LABEL}`) {
        send(
          res,
          400,
          JSON.stringify({ kind: 'Status', code: 400, message: `unexpected selector ${selector}` }),
        );
        return;
      }
      if (!watching) {
        const limit = Number(url.searchParams.get('limit') ?? 0);
        if (limit > 0) {
          const from = Number(url.searchParams.get('continue') ?? 0);
          send(res, 200, pageBody(api.dataset.pages[collection.list], api.dataset.rv, limit, from));
        } else send(res, 200, api.dataset.lists[collection.list]);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      watches.add(res);
      const rv = api.dataset.rv;
      const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
      // Without bookmarks the stream is silent, as a real one for a quiet resource is.
      const timer = bookmarks
        ? setInterval(() => {
            res.write(
              `${JSON.stringify({
                type: 'BOOKMARK',
                object: {
                  kind: collection.kind,
                  apiVersion: collection.apiVersion,
                  metadata: { resourceVersion: rv },
                },
              })}\n`,
            );
          }, bookmarkMs)
        : undefined;
      res.on('close', () => {
        if (timer) clearInterval(timer);
        watches.delete(res);
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === leasePath) {
      // Held by another replica and renewed far in the future: this controller stays a follower.
      send(
        res,
        200,
        JSON.stringify({
          kind: 'Lease',
          apiVersion: 'coordination.k8s.io/v1',
          metadata: {
            name: LEASE_NAME,
            namespace: LEASE_NAMESPACE,
            resourceVersion: '7',
            uid: '0f0f0f0f-0000-4000-a000-000000000001',
          },
          spec: {
            holderIdentity: 'netaudit-other-replica',
            leaseDurationSeconds: 15,
            acquireTime: '2026-10-01T08:00:00.000000Z',
            renewTime: '2099-01-01T00:00:00.000000Z',
            leaseTransitions: 3,
          },
        }),
      );
      return;
    }
    send(res, 404, notFound(url.pathname));
  };
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (api as { server: Server }).server = server;
  (api as { port: number }).port = (server.address() as AddressInfo).port;
  return api;
}

// ---- the controller process ----

interface Sample {
  readonly t: number;
  readonly rssKiB: number;
  readonly hwmKiB: number;
}

function procStatus(pid: number): { rssKiB: number; hwmKiB: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function get(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  readonly dataset: string;
  readonly counts: Dataset['counts'];
  readonly avgObjectBytes: Dataset['avgBytes'];
  readonly listBytes: Dataset['listBytes'];
  readonly syncMs: number | undefined;
  readonly leader: unknown;
  readonly peakRssMiB: number;
  readonly rssAtSyncMiB: number;
  readonly steadyRssMiB: { median: number; min: number; max: number; last: number };
  readonly metricsAtEnd: {
    residentMiB?: number;
    heapUsedMiB?: number;
    heapTotalMiB?: number;
    externalMiB?: number;
  };
  readonly heapUsedMiBSamples: { atSync?: number; atEnd?: number };
  /** After the full GC of a heap snapshot: the live heap. */
  readonly afterFullGc: { heapUsedMiB?: number; rssMiB?: number; snapshotMs?: number };
  readonly requests: Record<string, number>;
  readonly warnings: number;
  readonly errors: number;
  readonly exitCode: number | null;
  readonly samples: number;
}

async function runController(
  api: FakeApi,
  kubeconfig: string,
  opts: { syncTimeoutMs: number; steadyMs: number; sampleMs: number; diagnosticDir: string },
): Promise<RunResult> {
  api.requests.clear();
  const listen = await freePort();
  const child = spawn(
    join(root, 'bin/netaudit'),
    [
      'controller',
      '--listen',
      `127.0.0.1:${listen}`,
      '--kubeconfig',
      kubeconfig,
      '--lease-namespace',
      LEASE_NAMESPACE,
      '--lease-name',
      LEASE_NAME,
      '--interval',
      '1h',
      // The fake API server serves no label-selected pod lists: the profile is named, not detected.
      '--profile',
      'generic',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        POD_NAME: 'netaudit-bench-replica',
        NETAUDIT_LOG_LEVEL: 'info',
        // Writing a heap snapshot runs a full GC first: the only way to see the live heap (not the
        // garbage V8 has not collected yet) of a process that cannot be told to gc().
        // CHILD_NODE_OPTIONS: heap settings under test (e.g. the Deployment's --max-old-space-size).
        NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${opts.diagnosticDir} ${process.env.CHILD_NODE_OPTIONS ?? ''}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start bin/netaudit');
  let warnings = 0;
  let errors = 0;
  const logTail: string[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
      if (level >= 50) errors++;
      else if (level >= 40) warnings++;
      logTail.push(line.slice(0, 400));
      if (logTail.length > 20) logTail.shift();
    }
  });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let exitCode: number | null = null;
  const exited = new Promise<void>((r) =>
    child.on('exit', (code) => {
      exitCode = code;
      r();
    }),
  );
  const samples: Sample[] = [];
  const started = Date.now();
  const sample = (): Sample | undefined => {
    const s = procStatus(pid);
    if (!s) return undefined;
    const out = { t: Date.now() - started, ...s };
    samples.push(out);
    return out;
  };
  const base = `http://127.0.0.1:${listen}`;
  let syncMs: number | undefined;
  let leader: unknown;
  let lastSample = 0;
  while (Date.now() - started < opts.syncTimeoutMs && exitCode === null) {
    if (Date.now() - lastSample >= opts.sampleMs) {
      sample();
      lastSample = Date.now();
    }
    const r = await get(`${base}/readyz`);
    if (r?.status === 200) {
      syncMs = Date.now() - started;
      leader = (JSON.parse(r.text) as { leader?: unknown }).leader;
      break;
    }
    await sleep(200);
  }
  if (syncMs === undefined) {
    for (const l of logTail) process.stderr.write(`  controller: ${l}\n`);
    process.stderr.write(`controller not ready after ${Date.now() - started} ms (exit ${exitCode})\n`);
  }
  const atSync = sample();
  const metricsAtSync = syncMs !== undefined ? await get(`${base}/metrics`) : undefined;
  const steady: Sample[] = [];
  const steadyStart = Date.now();
  while (syncMs !== undefined && Date.now() - steadyStart < opts.steadyMs && exitCode === null) {
    await sleep(opts.sampleMs);
    const s = sample();
    if (s) steady.push(s);
  }
  const metricsAtEnd = syncMs !== undefined ? await get(`${base}/metrics`) : undefined;
  const final = sample();
  let afterGc: { heapUsedMiB?: number; rssMiB?: number; snapshotMs?: number } = {};
  if (syncMs !== undefined && exitCode === null) {
    const before = new Set(readdirSync(opts.diagnosticDir));
    const t = Date.now();
    // A heap snapshot stops the controller's event loop: Lease gaps from here on are the bench's.
    api.diagnosticsFrom = t;
    child.kill('SIGUSR2');
    let file: string | undefined;
    let lastSize = -1;
    // The snapshot is written on the main thread: once its size stops growing and /metrics answers,
    // it is done.
    while (Date.now() - t < 120_000) {
      await sleep(500);
      file ??= readdirSync(opts.diagnosticDir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
      if (!file) continue;
      const size = statSync(join(opts.diagnosticDir, file)).size;
      if (size === lastSize && size > 0) break;
      lastSize = size;
    }
    const snapshotMs = Date.now() - t;
    const text = (await get(`${base}/metrics`))?.text;
    const s = procStatus(pid);
    const heap = text === undefined ? undefined : metric(text, 'netaudit_nodejs_heap_size_used_bytes');
    afterGc = {
      ...(heap !== undefined ? { heapUsedMiB: round(heap / MiB, 1) } : {}),
      ...(s ? { rssMiB: round(s.rssKiB / 1024, 1) } : {}),
      snapshotMs,
    };
    if (file) rmSync(join(opts.diagnosticDir, file), { force: true });
  }
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
  const rssSorted = steady.map((s) => s.rssKiB).sort((a, b) => a - b);
  const mib = (kib: number | undefined): number => round((kib ?? 0) / 1024, 1);
  const m = (text: string | undefined, name: string): number | undefined => {
    const v = text === undefined ? undefined : metric(text, `netaudit_${name}`);
    return v === undefined ? undefined : round(v / MiB, 1);
  };
  const end = metricsAtEnd?.text;
  const metricsOut: RunResult['metricsAtEnd'] = {};
  const put = (k: keyof RunResult['metricsAtEnd'], v: number | undefined): void => {
    if (v !== undefined) (metricsOut as Record<string, number>)[k] = v;
  };
  put('residentMiB', m(end, 'process_resident_memory_bytes'));
  put('heapUsedMiB', m(end, 'nodejs_heap_size_used_bytes'));
  put('heapTotalMiB', m(end, 'nodejs_heap_size_total_bytes'));
  put('externalMiB', m(end, 'nodejs_external_memory_bytes'));
  const heapAtSync = m(metricsAtSync?.text, 'nodejs_heap_size_used_bytes');
  const heapAtEnd = m(end, 'nodejs_heap_size_used_bytes');
  return {
    dataset: api.dataset.name,
    counts: api.dataset.counts,
    avgObjectBytes: api.dataset.avgBytes,
    listBytes: api.dataset.listBytes,
    syncMs,
    leader,
    peakRssMiB: mib(Math.max(...samples.map((s) => s.hwmKiB), final?.hwmKiB ?? 0)),
    rssAtSyncMiB: mib(atSync?.rssKiB),
    steadyRssMiB: {
      median: mib(rssSorted[Math.floor(rssSorted.length / 2)]),
      min: mib(rssSorted[0]),
      max: mib(rssSorted[rssSorted.length - 1]),
      last: mib(steady[steady.length - 1]?.rssKiB),
    },
    metricsAtEnd: metricsOut,
    heapUsedMiBSamples: {
      ...(heapAtSync !== undefined ? { atSync: heapAtSync } : {}),
      ...(heapAtEnd !== undefined ? { atEnd: heapAtEnd } : {}),
    },
    afterFullGc: afterGc,
    requests: Object.fromEntries([...api.requests].sort()),
    warnings,
    errors,
    exitCode,
    samples: samples.length,
  };
}

// ---- main ----

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      label: { type: 'string', default: 'run' },
      pods: { type: 'string', default: '10000' },
      namespaces: { type: 'string', default: '500' },
      policies: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      'steady-s': { type: 'string', default: '20' },
      'sample-ms': { type: 'string', default: '500' },
      'sync-timeout-s': { type: 'string', default: '900' },
      'bookmark-s': { type: 'string', default: '5' },
      'no-empty': { type: 'boolean', default: false },
      leader: { type: 'boolean', default: false },
      out: {
        type: 'string',
        default: join(dirname(fileURLToPath(import.meta.url)), 'controller-memory-results.json'),
      },
      merge: { type: 'boolean', default: false },
    },
  });
  const shape: ClusterShape = {
    pods: Number(values.pods),
    namespaces: Number(values.namespaces),
    policies: Number(values.policies),
  };
  const seed = Number(values.seed);
  const dir = mkdtempSync(join(tmpdir(), 'netaudit-bench-'));
  const runOpts = {
    diagnosticDir: dir,
    syncTimeoutMs: Number(values['sync-timeout-s']) * 1000,
    steadyMs: Number(values['steady-s']) * 1000,
    sampleMs: Number(values['sample-ms']),
  };
  const t0 = Date.now();
  const full = buildDataset(
    `${shape.pods} pods / ${shape.namespaces} namespaces / ${shape.policies} policies`,
    shape,
    seed,
  );
  const empty = buildDataset('empty', undefined, seed);
  console.log(
    `generated in ${Date.now() - t0} ms: ${full.counts.pods} pods (avg ${full.avgBytes.pod} B), ` +
      `${full.counts.namespaces} namespaces (avg ${full.avgBytes.namespace} B), ` +
      `${full.counts.policies} policies (avg ${full.avgBytes.policy} B); LIST bodies ` +
      `${round(full.listBytes.pods / MiB, 1)} / ${round(full.listBytes.namespaces / MiB, 2)} / ` +
      `${round(full.listBytes.policies / MiB, 2)} MiB`,
  );
  const api = await startFakeApi(empty, Number(values['bookmark-s']) * 1000, values.leader);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: http://127.0.0.1:${api.port}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: bench\n  user:\n    token: bench-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: bench',
      'current-context: fake',
      '',
    ].join('\n'),
  );
  const runs: RunResult[] = [];
  try {
    const datasets = values['no-empty'] ? [full] : [empty, full];
    for (const d of datasets) {
      api.dataset = d;
      console.log(`controller against ${d.name} ...`);
      const r = await runController(api, kubeconfig, runOpts);
      api.closeWatches();
      runs.push(r);
      if (values.leader) {
        const writes = api.leaseWrites.filter(
          (w) => api.diagnosticsFrom === undefined || w < api.diagnosticsFrom,
        );
        const gaps = writes.slice(1).map((t, i) => t - (writes[i] as number));
        const planning = api.roundMarks.firstCreate.map((t, i) => t - (api.roundMarks.nodesListed[i] ?? t));
        const leadership = {
          leaseWrites: writes.length,
          maxRenewGapMs: Math.max(0, ...gaps),
          renewGapsMs: gaps,
          planningMs: planning,
        };
        (r as { leadership?: unknown }).leadership = leadership;
        console.log(`  leader: ${JSON.stringify(leadership)}`);
        api.leaseWrites.length = 0;
        api.diagnosticsFrom = undefined;
        api.roundMarks.nodesListed.length = 0;
        api.roundMarks.firstCreate.length = 0;
      }
      console.log(
        `  sync ${r.syncMs ?? 'never'} ms, leader ${String(r.leader)}; peak RSS ${r.peakRssMiB} MiB, ` +
          `steady RSS ${r.steadyRssMiB.median} MiB (${r.steadyRssMiB.min}-${r.steadyRssMiB.max}), ` +
          `heap used ${r.metricsAtEnd.heapUsedMiB ?? '?'} MiB (at sync ${r.heapUsedMiBSamples.atSync ?? '?'}, ` +
          `after a full GC ${r.afterFullGc.heapUsedMiB ?? '?'}, RSS then ${r.afterFullGc.rssMiB ?? '?'}), ` +
          `warnings ${r.warnings}, errors ${r.errors}`,
      );
    }
  } finally {
    api.closeWatches();
    api.server.closeAllConnections();
    await new Promise<void>((r) => api.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    label: values.label,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      totalMemGiB: round(totalmem() / 1024 ** 3, 1),
      node: process.version,
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    },
    shape,
    seed,
    options: { syncTimeoutMs: runOpts.syncTimeoutMs, steadyMs: runOpts.steadyMs, sampleMs: runOpts.sampleMs },
    runs,
  };
  let out: { variants: (typeof result)[] } = { variants: [] };
  if (values.merge) {
    try {
      out = JSON.parse(readFileSync(values.out, 'utf8')) as typeof out;
    } catch {
      // No earlier file: start one.
    }
    out.variants = out.variants.filter((v) => v.label !== values.label);
  }
  out.variants.push(result);
  writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
}

await main();
