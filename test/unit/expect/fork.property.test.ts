// A fork of the engine is independent: updates to the fork reach the state a fresh build reaches,
// and leave the original exactly as it was. Every mutable part of the state must be copied, which
// the second test checks field by field (a field added later without a copy fails it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Namespace, NetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import { classVerdicts } from '../../../src/expect/cells.ts';
import { ExpectationEngine, verdictSignature } from '../../../src/expect/engine.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { clusterArb, EXTERNAL_TARGETS, namespaceArb, podArb, policyArb } from '../../support/arbitraries.ts';

const EXTERNALS = EXTERNAL_TARGETS;

type Op =
  | { kind: 'pod'; pod: Pod }
  | { kind: 'namespace'; ns: Namespace }
  | { kind: 'policy'; policy: NetworkPolicy }
  | { kind: 'delete-policy'; index: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 0, max: 9 }).chain((i) => podArb(i).map((pod): Op => ({ kind: 'pod', pod }))),
  fc.constantFrom('a', 'b', 'c').chain((n) => namespaceArb(n).map((ns): Op => ({ kind: 'namespace', ns }))),
  policyArb.map((policy): Op => ({ kind: 'policy', policy })),
  fc.integer({ min: 0, max: 5 }).map((index): Op => ({ kind: 'delete-policy', index })),
);

/** Classes with their members and every class verdict, as comparable text. */
function snapshotOf(engine: ExpectationEngine): string[] {
  const out = engine.classes().map((c) => `${c.id} ${c.members.map((m) => m.key).join(',')}`);
  for (const v of classVerdicts(engine))
    out.push(`${v.from} ${v.to} ${v.port}/${v.protocol} ${verdictSignature(v.verdict)}`);
  return out.sort();
}

const keyOf = (o: { metadata: { namespace?: string | undefined; name?: string | undefined } }) =>
  `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

test('updates to a fork equal a fresh build and leave the original as it was', () => {
  fc.assert(
    fc.property(clusterArb, fc.array(opArb, { minLength: 1, maxLength: 6 }), (cluster, ops) => {
      const original = ExpectationEngine.from(cluster, PROFILES.generic, { externals: EXTERNALS });
      const before = snapshotOf(original);
      const fork = original.fork();
      assert.deepEqual(snapshotOf(fork), before, 'a fork starts equal');
      const namespaces = new Map(cluster.namespaces.map((n) => [n.metadata.name ?? '', n]));
      const pods = new Map(cluster.pods.map((p) => [keyOf(p), p]));
      const policies = new Map(cluster.policies.map((p) => [keyOf(p), p]));
      for (const op of ops) {
        switch (op.kind) {
          case 'pod': {
            // A pod keeps its namespace for life: one of the same name elsewhere goes first.
            for (const [k, p] of pods)
              if (p.metadata.name === op.pod.metadata.name && k !== keyOf(op.pod)) {
                pods.delete(k);
                fork.deletePod(p.metadata.namespace ?? '', p.metadata.name ?? '');
              }
            pods.set(keyOf(op.pod), op.pod);
            fork.upsertPod(op.pod);
            break;
          }
          case 'namespace':
            namespaces.set(op.ns.metadata.name ?? '', op.ns);
            fork.upsertNamespace(op.ns);
            break;
          case 'policy':
            policies.set(keyOf(op.policy), op.policy);
            fork.upsertPolicy(op.policy);
            break;
          case 'delete-policy': {
            const p = [...policies.values()][op.index % Math.max(1, policies.size)];
            if (!p) break;
            policies.delete(keyOf(p));
            fork.deletePolicy(p.metadata.namespace ?? '', p.metadata.name ?? '');
            break;
          }
        }
      }
      const fresh = ExpectationEngine.from(
        { namespaces: [...namespaces.values()], pods: [...pods.values()], policies: [...policies.values()] },
        PROFILES.generic,
        { externals: EXTERNALS },
      );
      assert.deepEqual(snapshotOf(fork), snapshotOf(fresh), 'the fork after the updates');
      assert.deepEqual(snapshotOf(original), before, 'the original after the fork was updated');
    }),
    { numRuns: 150, seed: 20261205 },
  );
});

/** Parts of the state a fork shares on purpose: never changed in place. */
const SHARED = new Set(['profile', 'options', 'fixedPorts', 'currentProjection', 'clusterLists']);

test('a fork copies every part of the state that updates change in place', () => {
  const cluster = fc.sample(clusterArb, { numRuns: 1, seed: 7 })[0];
  assert.ok(cluster);
  const original = ExpectationEngine.from(cluster, PROFILES.generic, { externals: EXTERNALS });
  const fork = original.fork();
  const a = original as unknown as Record<string, unknown>;
  const b = fork as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  const sharedByMistake = Object.keys(a).filter(
    (k) => typeof a[k] === 'object' && a[k] !== null && a[k] === b[k] && !SHARED.has(k),
  );
  assert.deepEqual(sharedByMistake, []);
});
