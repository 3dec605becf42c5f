// The expectation engine's verdicts equal a naive pod-by-pod evaluation, on random clusters and
// policies (named ports, ipBlocks with except, matchExpressions, empty vs absent rules), and its
// default ports equal the rule-by-rule reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { podVerdicts } from '../../../src/expect/cells.ts';
import { ExpectationEngine, verdictSignature } from '../../../src/expect/engine.ts';
import { evaluate } from '../../../src/policy/evaluate.ts';
import { PROFILES, type ProfileName } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../../../src/policy/snapshot.ts';
import type { Endpoint } from '../../../src/policy/types.ts';
import { clusterArb, externalTargets } from '../../support/arbitraries.ts';
import { referenceDefaultPorts } from '../../support/reference-ports.ts';
import { engineVerdicts } from '../../support/verdicts.ts';

const EXTERNALS = externalTargets('203.0.113.8', '10.0.0.3');

for (const profile of ['generic', 'cilium'] as ProfileName[]) {
  test(`engine verdicts equal naive pod-by-pod verdicts (${profile} profile)`, () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        const { snapshot } = buildSnapshot(cluster, PROFILES[profile]);
        const ctx = evalContext(snapshot);
        const all = [...snapshot.policies.values()].flat();
        const engine = ExpectationEngine.from(cluster, PROFILES[profile], { externals: EXTERNALS });
        const classBased = engineVerdicts(engine);
        const naive = new Map<string, string>();
        const targets: Endpoint[] = [
          ...snapshot.pods.map((pod): Endpoint => ({ kind: 'pod', pod })),
          ...EXTERNALS.map((e): Endpoint => ({ kind: 'external', ip: e.ip, text: e.text })),
        ];
        for (const from of snapshot.pods) {
          for (const to of targets) {
            if (to.kind === 'pod' && to.pod === from) continue;
            for (const { port, protocol } of referenceDefaultPorts(ctx, all, to)) {
              const name = to.kind === 'pod' ? to.pod.key : `ip:${to.text}`;
              naive.set(
                `${from.key} ${name} ${port}/${protocol}`,
                verdictSignature(evaluate(ctx, { from, to, port, protocol })),
              );
            }
          }
        }
        assert.deepEqual(classBased, naive);
      }),
      { numRuns: 300 },
    );
  });
}

test('a policy with more rules than a 31-bit mask decides every rule', () => {
  const apps = Array.from({ length: 40 }, (_, i) => `a${i}`);
  const cluster = {
    namespaces: [{ metadata: { name: 'big' } }],
    pods: apps.map((app) => ({
      metadata: { namespace: 'big', name: app, labels: { app } },
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] },
    })),
    policies: [
      {
        metadata: { namespace: 'big', name: 'many-rules' },
        spec: {
          podSelector: { matchLabels: { app: 'a0' } },
          ingress: apps.map((app) => ({
            from: [{ podSelector: { matchLabels: { app } } }],
            ports: [{ port: 80 }],
          })),
        },
      },
    ],
  };
  const { snapshot } = buildSnapshot(cluster, PROFILES.generic);
  const ctx = evalContext(snapshot);
  const engine = ExpectationEngine.from(cluster, PROFILES.generic);
  let checked = 0;
  for (const v of podVerdicts(engine)) {
    if (v.to.kind !== 'pod') continue;
    const naive = evaluate(ctx, {
      from: v.from,
      to: { kind: 'pod', pod: v.to.pod },
      port: v.port,
      protocol: v.protocol,
    });
    assert.equal(verdictSignature(v.verdict), verdictSignature(naive));
    checked++;
  }
  assert.equal(checked, 40 * 39);
  const toA0 = [...podVerdicts(engine)].filter((v) => v.to.kind === 'pod' && v.to.pod.name === 'a0');
  assert.ok(toA0.every((v) => v.verdict.allowed && v.verdict.ingress.allowedBy.length === 1));
});
