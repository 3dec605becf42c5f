// The bulk load the controller builds its engine with after the first LISTs: it must reach the same
// state as feeding the objects one by one, and report (not drop silently) what it cannot use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import { classVerdicts } from '../../../src/expect/cells.ts';
import { ExpectationEngine, verdictSignature } from '../../../src/expect/engine.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';

const pod = (name: string, app: string): Pod => ({
  metadata: { name, namespace: 'shop', labels: { app } },
  spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: `198.19.1.${name.length + 10}` },
});
const good: NetworkPolicy = {
  metadata: { name: 'web-from-api', namespace: 'shop' },
  spec: {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }],
  },
};
const bad: NetworkPolicy = {
  metadata: { name: 'broken', namespace: 'shop' },
  spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Sideways' as 'In', values: ['x'] }] } },
};

const signatures = (engine: ExpectationEngine): string[] =>
  [...classVerdicts(engine)]
    .map((v) => `${v.from} ${v.to} ${v.port}/${v.protocol} ${verdictSignature(v.verdict)}`)
    .sort();

test('bulk load equals one-by-one upserts, and reports the objects it skipped', () => {
  const pods = [pod('web', 'web'), pod('api', 'api'), pod('other', 'db')];
  const input = { namespaces: [{ metadata: { name: 'shop' } }], pods, policies: [good, bad] };
  const bulk = ExpectationEngine.from(input, PROFILES.generic);
  const stepwise = new ExpectationEngine(PROFILES.generic);
  for (const n of input.namespaces) stepwise.upsertNamespace(n);
  for (const p of pods) stepwise.upsertPod(p);
  const issues = input.policies.flatMap((p) => stepwise.upsertPolicy(p).issues);
  assert.ok(signatures(bulk).length > 0);
  assert.deepEqual(signatures(bulk), signatures(stepwise));
  assert.ok(bulk.loadIssues.length > 0, 'the broken policy is reported');
  assert.deepEqual(bulk.loadIssues, issues);
  assert.ok(bulk.loadIssues.every((i) => i.kind === 'NetworkPolicy' && i.name === 'broken'));
});
