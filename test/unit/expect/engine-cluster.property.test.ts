// With ClusterNetworkPolicies present: the engine's class-based verdicts equal the naive pod-by-pod
// evaluation (the tiers pipeline in src/policy/evaluate.ts), and incremental ClusterNetworkPolicy and
// namespace updates reach the state a fresh build reaches, with every changed verdict named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ClusterNetworkPolicy, Namespace } from '../../../src/core/k8s.ts';
import type { PortSpec } from '../../../src/core/traffic.ts';
import { classVerdicts } from '../../../src/expect/cells.ts';
import { type Change, ExpectationEngine, verdictSignature } from '../../../src/expect/engine.ts';
import { evaluate } from '../../../src/policy/evaluate.ts';
import { PROFILES, type ProfileName } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../../../src/policy/snapshot.ts';
import type { Endpoint } from '../../../src/policy/types.ts';
import { externalTargets, namespaceArb } from '../../support/arbitraries.ts';
import { clusterPolicyArb, clusterWithCnpArb } from '../../support/cluster-arbitraries.ts';
import { engineVerdicts } from '../../support/verdicts.ts';

const EXTERNALS = externalTargets('203.0.113.8', '10.0.0.3');
const PORTS: PortSpec[] = [
  { port: 53, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 80, protocol: 'TCP' },
  { port: 81, protocol: 'TCP' },
  { port: 8080, protocol: 'TCP' },
  { port: 9090, protocol: 'TCP' },
];

for (const profile of ['generic', 'cilium'] as ProfileName[]) {
  test(`engine verdicts equal naive verdicts with ClusterNetworkPolicies present (${profile} profile)`, () => {
    let decidedByCluster = 0;
    fc.assert(
      fc.property(clusterWithCnpArb, (cluster) => {
        const { snapshot } = buildSnapshot(cluster, PROFILES[profile]);
        const ctx = evalContext(snapshot);
        const engine = ExpectationEngine.from(cluster, PROFILES[profile], {
          externals: EXTERNALS,
          ports: PORTS,
        });
        const classBased = engineVerdicts(engine);
        const naive = new Map<string, string>();
        const targets: Endpoint[] = [
          ...snapshot.pods.map((pod): Endpoint => ({ kind: 'pod', pod })),
          ...EXTERNALS.map((e): Endpoint => ({ kind: 'external', ip: e.ip, text: e.text })),
        ];
        for (const from of snapshot.pods) {
          for (const to of targets) {
            if (to.kind === 'pod' && to.pod === from) continue;
            for (const { port, protocol } of PORTS) {
              const v = evaluate(ctx, { from, to, port, protocol });
              if (v.egress.tier || v.ingress.tier || v.egress.passedBy || v.ingress.passedBy)
                decidedByCluster++;
              const name = to.kind === 'pod' ? to.pod.key : `ip:${to.text}`;
              naive.set(`${from.key} ${name} ${port}/${protocol}`, verdictSignature(v));
            }
          }
        }
        assert.deepEqual(classBased, naive);
      }),
      { numRuns: 300 },
    );
    // The generator exercises the new tiers, not only clusters where they decide nothing.
    assert.ok(decidedByCluster > 1000, `only ${decidedByCluster} verdicts involved a ClusterNetworkPolicy`);
  });
}

type Op =
  | { kind: 'cnp'; policy: ClusterNetworkPolicy }
  | { kind: 'delete-cnp'; name: string }
  | { kind: 'namespace'; ns: Namespace };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  clusterPolicyArb.map((policy): Op => ({ kind: 'cnp', policy })),
  fc.constantFrom('p1', 'p2', 'p3').map((name): Op => ({ kind: 'delete-cnp', name })),
  fc.constantFrom('a', 'b', 'c').chain((n) => namespaceArb(n).map((ns): Op => ({ kind: 'namespace', ns }))),
);

function verdictsOf(engine: ExpectationEngine): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of classVerdicts(engine))
    out.set(`${v.from} ${v.to} ${v.port}/${v.protocol}`, verdictSignature(v.verdict));
  return out;
}

test('incremental ClusterNetworkPolicy and namespace updates equal a fresh build and name every changed verdict', () => {
  fc.assert(
    fc.property(clusterWithCnpArb, fc.array(opArb, { minLength: 1, maxLength: 6 }), (cluster, ops) => {
      const namespaces = new Map(cluster.namespaces.map((n) => [n.metadata.name ?? '', n]));
      const cnps = new Map(cluster.clusterPolicies.map((p) => [p.metadata.name ?? '', p]));
      const options = { externals: EXTERNALS, ports: PORTS };
      const engine = ExpectationEngine.from(cluster, PROFILES.generic, options);
      let before = verdictsOf(engine);
      for (const op of ops) {
        let change: Change;
        if (op.kind === 'cnp') {
          cnps.set(op.policy.metadata.name ?? '', op.policy);
          change = engine.upsertClusterPolicy(op.policy);
        } else if (op.kind === 'delete-cnp') {
          cnps.delete(op.name);
          change = engine.deleteClusterPolicy(op.name);
        } else {
          namespaces.set(op.ns.metadata.name ?? '', op.ns);
          change = engine.upsertNamespace(op.ns);
        }
        const fresh = ExpectationEngine.from(
          { ...cluster, namespaces: [...namespaces.values()], clusterPolicies: [...cnps.values()] },
          PROFILES.generic,
          options,
        );
        const after = verdictsOf(engine);
        assert.deepEqual(after, verdictsOf(fresh), `verdicts after ${op.kind}`);
        if (!change.repartitioned) {
          for (const k of new Set([...before.keys(), ...after.keys()])) {
            if (before.get(k) === after.get(k)) continue;
            const [from = '', to = ''] = k.split(' ');
            const named =
              change.sources.includes(from as never) ||
              change.destinations.includes(to as never) ||
              (to.startsWith('ip:') && change.externals);
            assert.ok(named, `${op.kind} changed ${k} without naming ${from} or ${to}`);
          }
        }
        before = after;
      }
    }),
    { numRuns: 150 },
  );
});
