// Reading large input: time and peak memory of readManifests (src/cli/read-manifests.ts) on
//  - a JSON List as `kubectl get pods,networkpolicies,namespaces -A -o json` writes it (4-space
//    indentation, `items` before `kind`, every pod with the fields a real one carries: managedFields,
//    owner, volumes, env, status conditions), from bench/synthetic.ts;
//  - hostile YAML: a 10 MB list in a field netaudit never reads, a 100k-key map, a 100k-label pod.
// Each case runs in a child process so that its peak RSS is its own. Files go to a temporary folder
// (never the repository) and are removed afterwards unless --keep.
//
//   node bench/read-large.ts [--size antrea] [--cases list,ignored,map,labels] [--keep] [--dir /tmp/x]
//   node bench/read-large.ts --read FILE        (one measurement, prints JSON; used by the above)

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readManifests } from '../src/cli/read-manifests.ts';
import type { Pod } from '../src/core/k8s.ts';
import { generateCluster, parseShape } from './synthetic.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'antrea' },
    cases: { type: 'string', default: 'list,ignored,map,labels' },
    keep: { type: 'boolean', default: false },
    dir: { type: 'string' },
    read: { type: 'string' },
  },
});

interface Measured {
  readonly file: string;
  readonly mb: number;
  readonly seconds: number;
  readonly maxRssMb: number;
  readonly heapAfterMb: number;
  readonly pods: number;
  readonly policies: number;
  readonly namespaces: number;
  readonly errors: number;
  readonly warnings: number;
}

async function measure(file: string): Promise<Measured> {
  const start = performance.now();
  const { load, issues } = await readManifests([file]);
  const seconds = (performance.now() - start) / 1000;
  globalThis.gc?.();
  const all = [...issues, ...load.issues];
  return {
    file,
    mb: statSync(file).size / 1e6,
    seconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    heapAfterMb: process.memoryUsage().heapUsed / 1e6,
    pods: load.pods.length,
    policies: load.policies.length,
    namespaces: load.namespaces.length,
    errors: all.filter((i) => i.severity === 'error').length,
    warnings: all.filter((i) => i.severity === 'warning').length,
  };
}

/** Writes text in large blocks: the file may be larger than a string can be. */
class Writer {
  private readonly fd: number;
  private parts: string[] = [];
  private size = 0;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 16 << 20) this.flush();
  }
  flush(): void {
    writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** A pod as the API server returns it: what netaudit reads, and much that it does not. */
function realistic(p: Pod, i: number): unknown {
  const name = p.metadata.name ?? `p${i}`;
  const c = p.spec.containers[0];
  const time = '2026-11-30T08:14:03Z';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      annotations: { 'kubectl.kubernetes.io/restartedAt': time, 'prometheus.io/scrape': 'true' },
      creationTimestamp: time,
      generateName: `${name.replace(/-\d+$/, '')}-`,
      labels: p.metadata.labels,
      managedFields: [
        {
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } },
            'f:spec': { 'f:containers': { [`k:{"name":"${c?.name}"}`]: { '.': {}, 'f:image': {} } } },
          },
          manager: 'kube-controller-manager',
          operation: 'Update',
          time,
        },
      ],
      name,
      namespace: p.metadata.namespace,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'ReplicaSet',
          name,
          uid: `uid-${i}`,
        },
      ],
      resourceVersion: String(100000 + i),
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    },
    spec: {
      containers: [
        {
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
          ],
          image: c?.image,
          imagePullPolicy: 'IfNotPresent',
          name: c?.name,
          ports: c?.ports,
          resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          volumeMounts: [
            {
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              name: `kube-api-access-${i}`,
              readOnly: true,
            },
          ],
        },
      ],
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      nodeName: p.spec.nodeName,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: 'default',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
      ],
      volumes: [
        {
          name: `kube-api-access-${i}`,
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } },
            ],
          },
        },
      ],
    },
    status: {
      conditions: [
        'PodReadyToStartContainers',
        'Initialized',
        'Ready',
        'ContainersReady',
        'PodScheduled',
      ].map((type) => ({ lastProbeTime: null, lastTransitionTime: time, status: 'True', type })),
      containerStatuses: [
        {
          containerID: `containerd://${String(i).padStart(64, '0')}`,
          image: c?.image,
          imageID: `${c?.image}@sha256:${'0'.repeat(64)}`,
          lastState: {},
          name: c?.name,
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: time } },
        },
      ],
      hostIP: '10.0.0.1',
      phase: p.status?.phase,
      podIP: p.status?.podIP,
      podIPs: p.status?.podIPs,
      qosClass: 'Burstable',
      startTime: time,
    },
  };
}

/** Indents a pretty-printed item to sit inside `"items": [` as kubectl writes it. */
function item(o: unknown): string {
  return `        ${JSON.stringify(o, null, 4).replaceAll('\n', '\n        ')}`;
}

function writeList(file: string, size: string): void {
  const cluster = generateCluster(parseShape(size));
  const w = new Writer(file);
  w.write('{\n    "apiVersion": "v1",\n    "items": [\n');
  let first = true;
  const add = (o: unknown): void => {
    w.write(first ? item(o) : `,\n${item(o)}`);
    first = false;
  };
  for (const n of cluster.namespaces) add(n);
  cluster.pods.forEach((p, i) => {
    add(realistic(p, i));
  });
  for (const np of cluster.policies) add(np);
  w.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n');
  w.close();
}

function writeIgnored(file: string): void {
  const w = new Writer(file);
  w.write(
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  namespace: default\nspec:\n  containers:\n  - name: c\n    image: x\n    env:\n',
  );
  for (let i = 0, size = 0; size < 10e6; i++) {
    const s = `    - name: VAR_${i}\n      value: "value-${i}"\n`;
    w.write(s);
    size += s.length;
  }
  w.close();
}

function writeMap(file: string): void {
  const w = new Writer(file);
  w.write('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: default\ndata:\n');
  for (let i = 0; i < 100_000; i++) w.write(`  key-${i}: "value ${i}"\n`);
  w.close();
}

function writeLabels(file: string): void {
  const w = new Writer(file);
  w.write('apiVersion: v1\nkind: Pod\nmetadata:\n  name: labelled\n  namespace: default\n  labels:\n');
  for (let i = 0; i < 100_000; i++) w.write(`    label-${i}: value-${i}\n`);
  w.write('spec:\n  containers:\n  - name: c\n    image: x\n');
  w.close();
}

if (values.read !== undefined) {
  process.stdout.write(`${JSON.stringify(await measure(values.read))}\n`);
} else {
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'netaudit-read-'));
  const writers: Record<string, [string, (f: string) => void]> = {
    list: [`list-${values.size}.json`, (f) => writeList(f, values.size)],
    ignored: ['ignored-10mb.yaml', writeIgnored],
    map: ['map-100k.yaml', writeMap],
    labels: ['labels-100k.yaml', writeLabels],
  };
  process.stderr.write(
    `reading large input: ${availableParallelism()} cores, node ${process.version}, files in ${dir}\n`,
  );
  for (const name of values.cases.split(',')) {
    const w = writers[name];
    if (!w) throw new Error(`unknown case ${name}; use list, ignored, map, labels`);
    const file = join(dir, w[0]);
    let t = performance.now();
    w[1](file);
    process.stderr.write(
      `${name}: wrote ${(statSync(file).size / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
    );
    t = performance.now();
    const child = spawnSync(process.execPath, ['--expose-gc', import.meta.filename, '--read', file], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (child.status !== 0)
      process.stderr.write(`${name}: failed (${child.status ?? child.signal}): ${child.stderr}\n`);
    else process.stdout.write(`${name} ${child.stdout}`);
    if (!values.keep) rmSync(file);
  }
  if (!values.keep && values.dir === undefined) rmSync(dir, { recursive: true });
}
