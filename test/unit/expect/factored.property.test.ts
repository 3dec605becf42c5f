// The factored form (`analyze --classes -o json`) carries every verdict: decoded cell by cell with the
// repository's small decoder and expanded to pods, it equals naive pod-by-pod evaluation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FactoredDecoder } from '../../../src/expect/decode.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { type FactoredAnalysis, writeFactored } from '../../../src/expect/factored.ts';
import { evaluate } from '../../../src/policy/evaluate.ts';
import { PROFILES, type ProfileName } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../../../src/policy/snapshot.ts';
import { type Endpoint, formatPolicyRef, formatRuleRef } from '../../../src/policy/types.ts';
import { clusterArb, externalTargets } from '../../support/arbitraries.ts';
import { referenceDefaultPorts } from '../../support/reference-ports.ts';

const EXTERNALS = externalTargets('203.0.113.8', '10.0.0.3');

for (const profile of ['generic', 'cilium'] as ProfileName[]) {
  test(`decoded factored verdicts equal naive per-pod verdicts (${profile} profile)`, () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        const engine = ExpectationEngine.from(cluster, PROFILES[profile], { externals: EXTERNALS });
        let text = '{';
        writeFactored(engine, (s) => {
          text += s;
        });
        const form = JSON.parse(`${text}}`) as FactoredAnalysis;
        const decoder = new FactoredDecoder(form);
        const classOfPod = new Map<string, string>();
        for (const c of form.classes) for (const m of c.members) classOfPod.set(m, c.id);

        const { snapshot } = buildSnapshot(cluster, PROFILES[profile]);
        const ctx = evalContext(snapshot);
        const all = [...snapshot.policies.values()].flat();
        const targets: Endpoint[] = [
          ...snapshot.pods.map((pod): Endpoint => ({ kind: 'pod', pod })),
          ...EXTERNALS.map((e): Endpoint => ({ kind: 'external', ip: e.ip, text: e.text })),
        ];
        for (const from of snapshot.pods) {
          for (const to of targets) {
            if (to.kind === 'pod' && to.pod === from) continue;
            const toId = to.kind === 'pod' ? (classOfPod.get(to.pod.key) as string) : `ip:${to.text}`;
            const listed =
              to.kind === 'pod'
                ? form.classes.find((c) => c.id === toId)?.ports
                : form.externals.find((e) => e.id === toId)?.ports;
            const expectedPorts = referenceDefaultPorts(ctx, all, to).map((p) => `${p.port}/${p.protocol}`);
            assert.deepEqual(listed, expectedPorts, `ports of ${toId}`);
            for (const p of referenceDefaultPorts(ctx, all, to)) {
              const naive = evaluate(ctx, { from, to, ...p });
              const decoded = decoder.verdict(classOfPod.get(from.key) as string, toId, p.port, p.protocol);
              assert.ok(decoded);
              const d = (v: typeof naive.egress) => ({
                isolated: v.isolated,
                allowed: v.allowed,
                allowedBy: v.allowedBy.map(formatRuleRef),
                isolatedBy: v.isolatedBy.map(formatPolicyRef),
              });
              assert.deepEqual(
                { allowed: decoded.allowed, egress: decoded.egress, ingress: decoded.ingress },
                { allowed: naive.allowed, egress: d(naive.egress), ingress: d(naive.ingress) },
                `${from.key} -> ${toId} ${p.port}/${p.protocol}`,
              );
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
}
