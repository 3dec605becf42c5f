// The factored form with ClusterNetworkPolicies: decoded cell by cell with the repository's small
// decoder and expanded to pods, it equals naive pod-by-pod evaluation through the tiers (random
// clusters and ClusterNetworkPolicies, equal priorities and offline-unknown peers included).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { PortSpec } from '../../../src/core/traffic.ts';
import { FactoredDecoder } from '../../../src/expect/decode.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { type FactoredAnalysisWithCluster, writeFactored } from '../../../src/expect/factored.ts';
import { evaluate } from '../../../src/policy/evaluate.ts';
import { PROFILES, type ProfileName } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../../../src/policy/snapshot.ts';
import {
  type DirectionVerdict,
  type Endpoint,
  formatPolicyRef,
  formatRuleRef,
} from '../../../src/policy/types.ts';
import { externalTargets } from '../../support/arbitraries.ts';
import { clusterWithCnpArb } from '../../support/cluster-arbitraries.ts';

const EXTERNALS = externalTargets('203.0.113.8', '10.0.0.3');
const PORTS: PortSpec[] = [
  { port: 53, protocol: 'UDP' },
  { port: 53, protocol: 'TCP' },
  { port: 80, protocol: 'TCP' },
  { port: 81, protocol: 'TCP' },
  { port: 9090, protocol: 'TCP' },
];

/** The naive verdict in the form's vocabulary (strings for references; fields only when present). */
function asDecoded(v: DirectionVerdict): Record<string, unknown> {
  return {
    isolated: v.isolated,
    allowed: v.allowed,
    allowedBy: v.allowedBy.map(formatRuleRef),
    isolatedBy: v.isolatedBy.map(formatPolicyRef),
    ...(v.tier ? { tier: v.tier } : {}),
    ...(v.deniedBy ? { deniedBy: v.deniedBy.map(formatRuleRef) } : {}),
    ...(v.passedBy ? { passedBy: v.passedBy.map(formatRuleRef) } : {}),
    ...(v.undetermined
      ? { undetermined: { why: v.undetermined.why, rules: v.undetermined.rules.map(formatRuleRef) } }
      : {}),
  };
}

for (const profile of ['generic', 'cilium'] as ProfileName[]) {
  test(`decoded factored verdicts equal naive verdicts with ClusterNetworkPolicies (${profile} profile)`, () => {
    let cells = 0;
    fc.assert(
      fc.property(clusterWithCnpArb, (cluster) => {
        const engine = ExpectationEngine.from(cluster, PROFILES[profile], {
          externals: EXTERNALS,
          ports: PORTS,
        });
        let text = '{';
        writeFactored(engine, (s) => {
          text += s;
        });
        const form = JSON.parse(`${text}}`) as FactoredAnalysisWithCluster;
        assert.equal(form.clusterPolicies !== undefined, cluster.clusterPolicies.length > 0);
        const decoder = new FactoredDecoder(form);
        const classOfPod = new Map<string, string>();
        for (const c of form.classes) for (const m of c.members) classOfPod.set(m, c.id);
        const { snapshot } = buildSnapshot(cluster, PROFILES[profile]);
        const ctx = evalContext(snapshot);
        const targets: Endpoint[] = [
          ...snapshot.pods.map((pod): Endpoint => ({ kind: 'pod', pod })),
          ...EXTERNALS.map((e): Endpoint => ({ kind: 'external', ip: e.ip, text: e.text })),
        ];
        for (const from of snapshot.pods) {
          for (const to of targets) {
            if (to.kind === 'pod' && to.pod === from) continue;
            const toId = to.kind === 'pod' ? (classOfPod.get(to.pod.key) as string) : `ip:${to.text}`;
            for (const p of PORTS) {
              const naive = evaluate(ctx, { from, to, ...p });
              const decoded = decoder.verdict(classOfPod.get(from.key) as string, toId, p.port, p.protocol);
              assert.ok(decoded);
              assert.deepEqual(
                { allowed: decoded.allowed, egress: { ...decoded.egress }, ingress: { ...decoded.ingress } },
                {
                  allowed: naive.allowed,
                  egress: asDecoded(naive.egress),
                  ingress: asDecoded(naive.ingress),
                },
                `${from.key} -> ${toId} ${p.port}/${p.protocol}`,
              );
              cells++;
            }
          }
        }
      }),
      { numRuns: 200 },
    );
    assert.ok(cells > 10_000, `only ${cells} cells decoded`);
  });
}
