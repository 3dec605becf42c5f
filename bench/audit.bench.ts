// Audit rounds in the lab (real API server, real packets): wall time, pods created, probes by classes
// vs all pod pairs, and where the time goes; then the controller's rounds on the same cluster (the
// first makes its servers, later ones reuse them). Needs root and the lab: `scripts/lab up` first.
//   node bench/audit.bench.ts [--pods-per-app 3] [--namespaces 8] [--controller-only] [--rounds 4]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KUBECONFIG, REPO } from '../lab/config.ts';
import { LAB_IMAGE } from '../lab/image.ts';
import { ensureLabUp } from '../lab/lab.ts';
import { applyFile, applyText, deleteNamespaces, waitForPods } from '../test/e2e/support/apply.ts';
import { applyRbac, startController } from '../test/e2e/support/controller.ts';
import { SEED_NAMESPACES } from '../test/e2e/support/seed.ts';
import { type CpuSnapshot, cpuShare, cpuSnapshot } from './cpu-share.ts';

const { values: args } = parseArgs({
  options: {
    'pods-per-app': { type: 'string', default: '3' },
    namespaces: { type: 'string', default: '8' },
    out: { type: 'string', default: 'bench/audit-results.json' },
    /** Only the controller's rounds on the ~100-pod cluster (no seed audit, no one-shot audit). */
    'controller-only': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '4' },
  },
});
const REPLICAS = Number(args['pods-per-app']);
const NAMESPACES = Array.from({ length: Number(args.namespaces) }, (_, i) => `bench-${i}`);
const APPS = ['web', 'api', 'db', 'cache'];
const PORTS: Record<string, string> = { web: '80', api: '8080', db: '5432', cache: '6379' };

/** ~100 pods and ~20 policies: per-namespace default-deny, app-to-app allows, cross-namespace and egress rules. */
function cluster(): string {
  const docs: string[] = [];
  NAMESPACES.forEach((ns, i) => {
    docs.push(
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns}, labels: { team: ${i % 2 ? 'blue' : 'green'} } }`,
    );
    for (const app of APPS) {
      const port = PORTS[app];
      docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${app}, namespace: ${ns} }
spec:
  replicas: ${REPLICAS}
  selector: { matchLabels: { app: ${app} } }
  template:
    metadata: { labels: { app: ${app}, tier: ${app === 'db' || app === 'cache' ? 'data' : 'front'} } }
    spec:
      containers:
        - name: c
          image: ${LAB_IMAGE}
          command: [netaudit]
          args: [agent, serve, --port, ${port}/TCP, --port, ${port}/UDP]
          ports: [{ name: svc, containerPort: ${port}, protocol: TCP }, { containerPort: ${port}, protocol: UDP }]`);
    }
    if (i < 4) {
      docs.push(
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: default-deny, namespace: ${ns} }\nspec: { podSelector: {}, policyTypes: [Ingress] }`,
      );
      docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: api-to-db, namespace: ${ns} }
spec:
  podSelector: { matchLabels: { tier: data } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: api } } }], ports: [{ port: svc }] }]`);
      docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-from-team, namespace: ${ns} }
spec:
  podSelector: { matchExpressions: [{ key: app, operator: In, values: [web, api] }] }
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: blue } } }] }]`);
    } else if (i < 8) {
      docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: egress-limited, namespace: ${ns} }
spec:
  podSelector: { matchLabels: { tier: data } }
  policyTypes: [Egress]
  egress: [{ to: [{ ipBlock: { cidr: 198.19.0.0/16, except: [198.19.2.0/24] } }], ports: [{ protocol: TCP, port: 80, endPort: 8080 }] }]`);
      docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: cache-from-api, namespace: ${ns} }
spec:
  podSelector: { matchLabels: { app: cache } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: api } }, namespaceSelector: { matchLabels: { team: green } } }] }]`);
    }
  });
  return docs.join('\n---\n');
}

interface Audit {
  summary: Record<string, number>;
  timings: Record<string, number>;
  failedPods: unknown[];
}

function audit(
  namespaces: readonly string[],
  extra: string[] = [],
): { wallMs: number; code: number | null; json: Audit } {
  const started = performance.now();
  const r = spawnSync(
    resolve(REPO, 'bin/netaudit'),
    [
      'audit',
      ...namespaces.flatMap((n) => ['-n', n]),
      '--profile',
      'kube-router',
      '--timeout',
      '3s',
      '-o',
      'json',
      ...extra,
    ],
    {
      env: { ...process.env, KUBECONFIG, NETAUDIT_IMAGE: LAB_IMAGE, CI: 'true' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const wallMs = performance.now() - started;
  return { wallMs, code: r.status, json: JSON.parse(r.stdout) as Audit };
}

await ensureLabUp();
const results: Record<string, unknown> = {
  machine: { cpus: 2, node: process.version },
  at: new Date().toISOString(),
};

if (!args['controller-only']) {
  // 1. The seed scenario.
  const SEED_NS = SEED_NAMESPACES;
  await applyFile(resolve(REPO, 'examples/lab/seed.yaml'));
  await waitForPods(SEED_NS);
  const seed = audit(SEED_NS, [
    '--external',
    '203.0.113.8=80/TCP,53/UDP,32000/TCP,32768/TCP',
    '--external',
    '203.0.113.9=80/TCP,32000/TCP',
  ]);
  results.seed = {
    wallMs: Math.round(seed.wallMs),
    exit: seed.code,
    summary: seed.json.summary,
    timings: seed.json.timings,
  };
  await deleteNamespaces(SEED_NS);
}

// 2. About 100 pods and 20 policies.
const deployed = performance.now();
await applyText(cluster());
await waitForPods(NAMESPACES, 300_000);
const deployMs = performance.now() - deployed;
results.deployMs = Math.round(deployMs);
if (!args['controller-only']) {
  const big = audit(NAMESPACES);
  results.hundred = {
    pods: NAMESPACES.length * APPS.length * REPLICAS,
    policies: 4 * 3 + 4 * 2,
    deployMs: Math.round(deployMs),
    wallMs: Math.round(big.wallMs),
    exit: big.code,
    summary: big.json.summary,
    timings: big.json.timings,
    failedPods: big.json.failedPods.length,
  };
}

// 3. The controller on the same cluster: its first round creates every server, later rounds
// reuse them (kept across rounds) and create client pods only.
await applyRbac();
const controller = startController(KUBECONFIG, [
  ...NAMESPACES.flatMap((n) => ['-n', n]),
  '--interval',
  '15s',
  '--no-canary',
  '--max-probe-pods',
  '0',
]);
interface RoundLine {
  seconds: number;
  podsCreated: number;
  serversReused: number;
  timings?: Record<string, number>;
}
const roundsLogged = (): RoundLine[] =>
  controller
    .log()
    .split('\n')
    .filter((l) => l.includes('"round completed"'))
    .map((l) => JSON.parse(l) as RoundLine);
const ROUNDS = Number(args.rounds);
const deadline = Date.now() + 900_000 + ROUNDS * 200_000;
const tick = () => new Promise((r) => setTimeout(r, 1000));
// Where the CPU goes in the rounds after the first (kept servers): from the first round's end.
while (roundsLogged().length < 1 && Date.now() < deadline) await tick();
const steadyFrom: CpuSnapshot = cpuSnapshot();
while (roundsLogged().length < ROUNDS && Date.now() < deadline) await tick();
const steadyCpu = cpuShare(steadyFrom, cpuSnapshot());
await controller.stop('SIGTERM');
// The controller's own account of its rounds, for reading a surprising number after the fact.
writeFileSync(`${args.out.replace(/\.json$/, '')}.controller.jsonl`, controller.log());
const rounds = roundsLogged().map((r) => ({
  seconds: r.seconds,
  podsCreated: r.podsCreated,
  serversReused: r.serversReused,
  timings: r.timings,
}));
const later = rounds
  .slice(1)
  .map((r) => r.seconds)
  .sort((a, b) => a - b);
results.controller = {
  rounds,
  firstRoundSeconds: rounds[0]?.seconds,
  steadyRoundSecondsMedian: later[Math.floor(later.length / 2)],
  steadyCpu,
};
await deleteNamespaces(NAMESPACES);

writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
