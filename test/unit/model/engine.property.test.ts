// The incremental engine reports exactly what changed: after every random operation its classes equal
// a from-scratch partition, and the verdicts it says changed are exactly the difference between the
// full matrices before and after.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classesOf } from '../../../src/model/classes.ts';
import { buildSnapshot, evalContext } from '../../../src/model/cluster.ts';
import { type Change, IncrementalEngine } from '../../../src/model/engine.ts';
import type { Namespace, NetworkPolicy, Pod } from '../../../src/model/k8s.ts';
import { computeMatrix, verdictSignature } from '../../../src/model/matrix.ts';
import { parseIpLiteral } from '../../../src/policy/cidr.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { clusterArb, namespaceArb, podArb, policyArb } from '../../support/arbitraries.ts';

const EXTERNALS = ['203.0.113.8'].map((text) => {
  const ip = parseIpLiteral(text);
  if (!ip.ok) throw new Error(ip.error);
  return { text, ip: ip.value };
});

type Op =
  | { kind: 'pod'; pod: Pod }
  | { kind: 'delete-pod'; index: number }
  | { kind: 'namespace'; ns: Namespace }
  | { kind: 'policy'; policy: NetworkPolicy }
  | { kind: 'delete-policy'; index: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 0, max: 9 }).chain((i) => podArb(i).map((pod): Op => ({ kind: 'pod', pod }))),
  fc.integer({ min: 0, max: 9 }).map((index): Op => ({ kind: 'delete-pod', index })),
  fc.constantFrom('a', 'b', 'c').chain((n) => namespaceArb(n).map((ns): Op => ({ kind: 'namespace', ns }))),
  policyArb.map((policy): Op => ({ kind: 'policy', policy })),
  fc.integer({ min: 0, max: 5 }).map((index): Op => ({ kind: 'delete-policy', index })),
);

interface State {
  namespaces: Map<string, Namespace>;
  pods: Map<string, Pod>;
  policies: Map<string, NetworkPolicy>;
}

function full(state: State): { classes: Map<string, string[]>; verdicts: Map<string, string> } {
  const { snapshot } = buildSnapshot(
    {
      namespaces: [...state.namespaces.values()],
      pods: [...state.pods.values()],
      policies: [...state.policies.values()],
    },
    PROFILES.generic,
  );
  const { classes } = classesOf(snapshot);
  const matrix = computeMatrix(evalContext(snapshot), classes, [...snapshot.policies.values()].flat(), {
    externals: EXTERNALS,
  });
  const verdicts = new Map<string, string>();
  for (const v of matrix.verdicts())
    verdicts.set(`${v.from} ${v.to} ${v.port}/${v.protocol}`, verdictSignature(v.verdict));
  return {
    classes: new Map(classes.map((c) => [c.id as string, c.members.map((m) => m.key as string).sort()])),
    verdicts,
  };
}

test('incremental changes equal the difference of full recomputations', () => {
  fc.assert(
    fc.property(clusterArb, fc.array(opArb, { minLength: 1, maxLength: 8 }), (cluster, ops) => {
      const state: State = {
        namespaces: new Map(cluster.namespaces.map((n) => [n.metadata.name ?? '', n])),
        pods: new Map(cluster.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p])),
        policies: new Map(cluster.policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p])),
      };
      const engine = IncrementalEngine.from(cluster, PROFILES.generic, { externals: EXTERNALS });
      let before: ReturnType<typeof full> = full(state);
      for (const op of ops) {
        let change: Change;
        switch (op.kind) {
          case 'pod': {
            const key = `${op.pod.metadata.namespace}/${op.pod.metadata.name}`;
            // A pod keeps its namespace for life: replace only within the same namespace.
            const existing = [...state.pods.keys()].find((k) => k.endsWith(`/${op.pod.metadata.name}`));
            if (existing && existing !== key) {
              const [ns, name] = existing.split('/') as [string, string];
              state.pods.delete(existing);
              engine.deletePod(ns, name);
              before = full(state);
            }
            state.pods.set(key, op.pod);
            change = engine.upsertPod(op.pod);
            break;
          }
          case 'delete-pod': {
            const key = [...state.pods.keys()][op.index % Math.max(1, state.pods.size)];
            if (!key) continue;
            const [ns, name] = key.split('/') as [string, string];
            state.pods.delete(key);
            change = engine.deletePod(ns, name);
            break;
          }
          case 'namespace':
            state.namespaces.set(op.ns.metadata.name ?? '', op.ns);
            change = engine.upsertNamespace(op.ns);
            break;
          case 'policy':
            state.policies.set(`${op.policy.metadata.namespace}/${op.policy.metadata.name}`, op.policy);
            change = engine.upsertPolicy(op.policy);
            break;
          case 'delete-policy': {
            const key = [...state.policies.keys()][op.index % Math.max(1, state.policies.size)];
            if (!key) continue;
            const [ns, name] = key.split('/') as [string, string];
            state.policies.delete(key);
            change = engine.deletePolicy(ns, name);
            break;
          }
        }
        const after = full(state);
        const engineClasses = new Map(
          engine.classes().map((c) => [c.id as string, c.members.map((m) => m.key as string).sort()]),
        );
        assert.deepEqual(engineClasses, after.classes, `classes after ${op.kind}`);
        if (!change.repartitioned) {
          const expected = new Set<string>();
          for (const [k, v] of before.verdicts) if (after.verdicts.get(k) !== v) expected.add(k);
          for (const k of after.verdicts.keys()) if (!before.verdicts.has(k)) expected.add(k);
          const reportedKeys: string[] = [];
          for (const v of change.verdictsChanged)
            reportedKeys.push(`${v.from} ${v.to} ${v.port}/${v.protocol}`);
          const reported: Set<string> = new Set(reportedKeys);
          assert.deepEqual([...reported].sort(), [...expected].sort(), `verdicts changed by ${op.kind}`);
        }
        before = after;
      }
    }),
    { numRuns: 200 },
  );
});
