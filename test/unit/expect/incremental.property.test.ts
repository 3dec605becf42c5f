// Incremental updates reach the state a from-scratch build reaches (classes and every verdict), and a
// Change names, for every verdict that changed, its source or its destination (or says re-partitioned).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Namespace, NetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import { classVerdicts } from '../../../src/expect/cells.ts';
import { type Change, ExpectationEngine, verdictSignature } from '../../../src/expect/engine.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { clusterArb, EXTERNAL_TARGETS, namespaceArb, podArb, policyArb } from '../../support/arbitraries.ts';

const EXTERNALS = EXTERNAL_TARGETS;

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

function snapshotOf(engine: ExpectationEngine): {
  classes: Map<string, string[]>;
  verdicts: Map<string, string>;
} {
  const verdicts = new Map<string, string>();
  for (const v of classVerdicts(engine))
    verdicts.set(`${v.from} ${v.to} ${v.port}/${v.protocol}`, verdictSignature(v.verdict));
  return {
    classes: new Map(
      engine.classes().map((c) => [c.id as string, c.members.map((m) => m.key as string).sort()]),
    ),
    verdicts,
  };
}

function fresh(state: State): ExpectationEngine {
  return ExpectationEngine.from(
    {
      namespaces: [...state.namespaces.values()],
      pods: [...state.pods.values()],
      policies: [...state.policies.values()],
    },
    PROFILES.generic,
    { externals: EXTERNALS },
  );
}

test('incremental updates equal a fresh build, and changes name the classes of every changed verdict', () => {
  fc.assert(
    fc.property(clusterArb, fc.array(opArb, { minLength: 1, maxLength: 8 }), (cluster, ops) => {
      const state: State = {
        namespaces: new Map(cluster.namespaces.map((n) => [n.metadata.name ?? '', n])),
        pods: new Map(cluster.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p])),
        policies: new Map(cluster.policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p])),
      };
      const engine = ExpectationEngine.from(cluster, PROFILES.generic, { externals: EXTERNALS });
      let before = snapshotOf(engine);
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
              before = snapshotOf(engine);
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
        const after = snapshotOf(engine);
        const expected = snapshotOf(fresh(state));
        assert.deepEqual(after.classes, expected.classes, `classes after ${op.kind}`);
        assert.deepEqual(after.verdicts, expected.verdicts, `verdicts after ${op.kind}`);
        if (!change.repartitioned) {
          const named = (from: string, to: string): boolean =>
            change.sources.includes(from as never) ||
            change.destinations.includes(to as never) ||
            change.classesAdded.includes(from as never) ||
            change.classesAdded.includes(to as never) ||
            change.classesRemoved.includes(from as never) ||
            change.classesRemoved.includes(to as never) ||
            (to.startsWith('ip:') && change.externals);
          const keys = new Set([...before.verdicts.keys(), ...after.verdicts.keys()]);
          for (const k of keys) {
            if (before.verdicts.get(k) === after.verdicts.get(k)) continue;
            const [from = '', to = ''] = k.split(' ');
            assert.ok(named(from, to), `${op.kind} changed ${k} without naming ${from} or ${to}`);
          }
        }
        before = after;
      }
    }),
    { numRuns: 200 },
  );
});
