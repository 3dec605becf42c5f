// k3s (kube-router's NetworkPolicy controller, built in) with the real netaudit image built from the
// Dockerfile: the seed examples are enforced as written, so a one-shot audit finds no mismatch, and
// the controller under manifests/base's ServiceAccount reports zero mismatches after two rounds.
// Needs Docker: `npm run test:k3s`; not part of scripts/test (the build machines have no engine).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../lab/sh.ts';
import { metric, sumMetric } from '../e2e/support/controller.ts';
import { parseAudit } from '../e2e/support/netaudit.ts';
import { SEED_FILE, SEED_NAMESPACES } from '../e2e/support/seed.ts';
import {
  apply,
  applyFile,
  type K3s,
  netaudit,
  REPO,
  type RunningController,
  serviceAccountKubeconfig,
  startController,
  startK3s,
  waitForPods,
} from './support.ts';

const CTL_NS = 'ctl';
const WORKLOADS = `apiVersion: v1
kind: Namespace
metadata: { name: ${CTL_NS} }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: ${CTL_NS}, labels: { app: web } }
spec:
  containers: [{ name: c, image: ghcr.io/netaudit/netaudit:dev, command: [netaudit], args: [agent, serve, --port, 80/TCP, --port, 80/UDP], ports: [{ containerPort: 80 }, { containerPort: 80, protocol: UDP }] }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${CTL_NS}, labels: { app: client } }
spec:
  containers: [{ name: c, image: ghcr.io/netaudit/netaudit:dev, command: [netaudit], args: [agent, serve, --port, 8080/TCP], ports: [{ containerPort: 8080 }] }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-from-client, namespace: ${CTL_NS} }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: client } } }] }]
`;

describe('netaudit on k3s (Docker)', { timeout: 1_800_000 }, () => {
  let k3s: K3s | undefined;
  let controller: RunningController | undefined;

  before(async () => {
    k3s = await startK3s();
    await applyFile(k3s, SEED_FILE);
    await waitForPods(k3s, SEED_NAMESPACES);
  });
  after(async () => {
    await controller?.stop();
    await k3s?.stop();
  });

  test('netaudit audit on the seed examples: probes ran, 0 mismatches, exit 0', async () => {
    const cluster = k3s as K3s;
    // No --external: the seed's 203.0.113.x stand-ins exist only in the lab.
    const run = await netaudit(cluster, [
      'audit',
      ...SEED_NAMESPACES.flatMap((n) => ['-n', n]),
      '--profile',
      'kube-router',
      '-o',
      'json',
      '--timeout',
      '2s',
    ]);
    const json = parseAudit(run);
    assert.deepEqual(json.mismatches, [], run.stderr.slice(-3000));
    assert.deepEqual(json.failedPods, [], 'every probe pod ran (the image was imported)');
    assert.ok(json.summary.probes > 0, 'probes ran');
    assert.equal(run.code, 0);
  });

  test('netaudit controller (ServiceAccount of manifests/base): after two rounds netaudit_mismatches is 0', async () => {
    const cluster = k3s as K3s;
    for (const f of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) {
      await applyFile(cluster, join(REPO, 'manifests/base', f));
    }
    await apply(cluster, WORKLOADS);
    await waitForPods(cluster, [CTL_NS]);
    const kubeconfig = await serviceAccountKubeconfig(cluster);
    controller = startController(kubeconfig, ['--interval', '20s', '--settle', '3s', '-n', CTL_NS]);
    const c = controller;
    await waitFor(
      'two completed rounds',
      async () =>
        (metric(await c.metrics(), 'netaudit_audit_rounds_total', { outcome: 'completed' }) ?? 0) >= 2
          ? true
          : undefined,
      300_000,
    );
    const text = await c.metrics();
    assert.equal(sumMetric(text, 'netaudit_mismatches'), 0, c.log().slice(-3000));
    assert.equal(metric(text, 'netaudit_leader'), 1);
    assert.equal(metric(text, 'netaudit_nodes_covered'), 1, 'k3s runs one node');
    assert.ok(
      (metric(text, 'netaudit_classes') ?? 0) >= 3,
      'the workloads were probed (the canary by the checks beside the rounds)',
    );
  });
});
