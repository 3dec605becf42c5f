// Every safety rule of DESIGN section 5 on the probe pod manifests: a test per rule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientRuns } from '../../../src/audit/round.ts';
import {
  clientPod,
  NEVER_READY_GATE,
  type ProbePodContext,
  serverPod,
} from '../../../src/kube/probe-pods.ts';
import { decodePlan } from '../../../src/probe/plan.ts';
import type { ClientSpec, ServerSpec } from '../../../src/probe/runner.ts';

const ctx: ProbePodContext = {
  image: 'ghcr.io/netaudit/netaudit:v0.1.0',
  instance: 'audit',
  runId: 'abc123',
  owner: { name: 'netaudit-run-abc123', uid: 'uid-1' },
  serverDeadlineSeconds: 600,
  clientDeadlineSeconds: 120,
};
const server: ServerSpec = {
  key: 'netaudit-srv-c1-n0',
  classId: 'c1',
  namespace: 'shop',
  node: 'node-a',
  labels: { app: 'db', 'netaudit.io/probe': 'forged' },
  containerPorts: [
    { name: 'pg', port: 5432, protocol: 'TCP' },
    { name: undefined, port: 53, protocol: 'UDP' },
  ],
  listen: [
    { port: 53, protocol: 'UDP' },
    { port: 5432, protocol: 'TCP' },
  ],
};
const client: ClientSpec = {
  key: 'netaudit-cli-c2-n0',
  classId: 'c2',
  namespace: 'shop',
  node: 'node-a',
  labels: { app: 'api' },
};
const [run] = clientRuns(
  [client],
  [{ id: '0', host: '198.19.1.5', port: 5432, protocol: 'TCP' }],
  1000,
  2,
  2000,
  '',
);
if (!run) throw new Error('no run');
const pods = [serverPod(ctx, server), clientPod(ctx, run)];

describe('probe pods are safe for the workloads around them', () => {
  for (const pod of pods) {
    const role = pod.metadata?.labels?.['netaudit.io/probe'];
    test(`${role}: never Ready (a readiness gate netaudit never sets)`, () => {
      assert.deepEqual(pod.spec?.readinessGates, [{ conditionType: NEVER_READY_GATE }]);
      // Like a node monitoring agent: a NoExecute taint never evicts a probe pod pinned to its node.
      assert.deepEqual(pod.spec?.tolerations, [{ operator: 'Exists' }]);
    });
    test(`${role}: a controller ownerReference, so no ReplicaSet adopts it`, () => {
      assert.deepEqual(pod.metadata?.ownerReferences, [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'netaudit-run-abc123',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: false,
        },
      ]);
    });
    test(`${role}: meets the restricted Pod Security Standard`, () => {
      const psc = pod.spec?.securityContext;
      assert.equal(psc?.runAsNonRoot, true);
      assert.ok((psc?.runAsUser ?? 0) > 0);
      assert.deepEqual(psc?.seccompProfile, { type: 'RuntimeDefault' });
      assert.deepEqual(psc?.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
      for (const c of pod.spec?.containers ?? []) {
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] });
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext?.privileged, undefined);
      }
      assert.equal(pod.spec?.hostNetwork, undefined);
      assert.equal(pod.spec?.hostPID, undefined);
      assert.equal(pod.spec?.volumes, undefined);
    });
    test(`${role}: small requests and limits`, () => {
      const r = pod.spec?.containers[0]?.resources;
      assert.deepEqual(r, {
        requests: { cpu: '10m', memory: '48Mi' },
        limits: { cpu: '200m', memory: '128Mi' },
      });
    });
    test(`${role}: no service-account token and no service links`, () => {
      assert.equal(pod.spec?.automountServiceAccountToken, false);
      assert.equal(pod.spec?.enableServiceLinks, false);
    });
    test(`${role}: netaudit's labels, which a class label cannot forge`, () => {
      assert.equal(pod.metadata?.labels?.['netaudit.io/instance'], 'audit');
      assert.equal(pod.metadata?.labels?.['netaudit.io/run'], 'abc123');
      assert.equal(pod.metadata?.labels?.['netaudit.io/probe'], role === 'server' ? 'server' : 'client');
      assert.ok(role === 'server' || role === 'client');
    });
    test(`${role}: pinned to its node, restartPolicy Never, and a deadline`, () => {
      assert.equal(pod.spec?.nodeName, 'node-a');
      assert.equal(pod.spec?.restartPolicy, 'Never');
      assert.equal(pod.spec?.activeDeadlineSeconds, role === 'server' ? 600 : 120);
    });
  }

  test('the server carries the class labels and named ports and listens on every probed port', () => {
    const [srv] = pods;
    assert.equal(srv?.metadata?.labels?.app, 'db');
    assert.deepEqual(srv?.spec?.containers[0]?.ports, [
      { name: 'pg', containerPort: 5432, protocol: 'TCP' },
      { containerPort: 53, protocol: 'UDP' },
    ]);
    assert.deepEqual(srv?.spec?.containers[0]?.args, [
      'agent',
      'serve',
      '--port',
      '53/UDP',
      '--port',
      '5432/TCP',
    ]);
  });

  test('the client carries its plan in args and waits before probing', () => {
    const args = pods[1]?.spec?.containers[0]?.args ?? [];
    assert.equal(args[0], 'agent');
    assert.equal(args[1], 'probe');
    const plan = decodePlan(args[3] ?? '');
    assert.ok(plan.ok);
    assert.equal(plan.ok && plan.value.attempts, 2);
    assert.deepEqual(args.slice(4), ['--delay', '2000ms']);
  });
});
