// What a change opens and closes, on pairs of upstream conformance scenarios whose reachability is
// written by hand on both sides (a default plus overrides, the upstream way): the expected diff is
// where the two hand-written expectations differ, never the engine against itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { NetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import type { Protocol } from '../../../src/core/traffic.ts';
import { diffAnalyses } from '../../../src/expect/diff.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { clusterArb, policyArb } from '../../support/arbitraries.ts';
import { ns, policy, upstreamModel } from '../../support/fixtures.ts';

const model = upstreamModel();
const PORTS: [number, Protocol][] = [
  [80, 'TCP'],
  [81, 'TCP'],
  [80, 'UDP'],
  [81, 'UDP'],
];
type Expect = (from: string, to: string, port: number, protocol: Protocol) => boolean;

function expectedDiff(keys: readonly string[], before: Expect, after: Expect): string[] {
  const out: string[] = [];
  for (const from of keys)
    for (const to of keys) {
      if (from === to) continue;
      for (const [port, protocol] of PORTS) {
        const b = before(from, to, port, protocol);
        const a = after(from, to, port, protocol);
        if (b !== a) out.push(`${from} -> ${to} ${port}/${protocol} ${a ? 'opened' : 'closed'}`);
      }
    }
  return out.sort();
}

function actualDiff(
  basePolicies: NetworkPolicy[],
  headPolicies: NetworkPolicy[],
  headPods: Pod[] = model.pods,
): string[] {
  const d = diffAnalyses(
    { namespaces: model.namespaces, pods: model.pods, policies: basePolicies },
    { namespaces: model.namespaces, pods: headPods, policies: headPolicies },
    PROFILES.generic,
    {},
  );
  return [...d.changes()]
    .map(
      (c) =>
        `${c.from.key} -> ${c.to.kind === 'pod' ? c.to.pod.key : c.to.text} ${c.port}/${c.protocol} ${c.after.allowed ? 'opened' : 'closed'}`,
    )
    .sort();
}

const allowNs = (from: string) =>
  policy('x/allow-ns', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: from } } }] }],
  });

describe('analyze --base: opened and closed flows', () => {
  test('adding default-deny-ingress to x closes every flow into x and opens nothing', () => {
    const got = actualDiff([], [policy('x/deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })]);
    assert.deepEqual(
      got,
      expectedDiff(
        model.keys,
        () => true,
        (_f, t) => ns(t) !== 'x',
      ),
    );
    assert.ok(got.length > 0 && got.every((l) => l.endsWith('closed')));
  });

  test('updating a policy from namespace y to z opens z -> x/a and closes y -> x/a', () => {
    const got = actualDiff([allowNs('y')], [allowNs('z')]);
    assert.deepEqual(
      got,
      expectedDiff(
        model.keys,
        (f, t) => t !== 'x/a' || ns(f) === 'y',
        (f, t) => t !== 'x/a' || ns(f) === 'z',
      ),
    );
  });

  test('a port added to a rule opens that port only', () => {
    const rule = (ports: number[]) =>
      policy('x/allow-80', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ ports: ports.map((port) => ({ port, protocol: 'TCP' as const })) }],
      });
    assert.deepEqual(
      actualDiff([rule([80])], [rule([80, 81])]),
      expectedDiff(
        model.keys,
        (_f, t, port, protocol) => t !== 'x/a' || (port === 80 && protocol === 'TCP'),
        (_f, t, _port, protocol) => t !== 'x/a' || protocol === 'TCP',
      ),
    );
  });

  test('relabelling a pod (the upstream "updated pod" scenario) opens its flows to x/a', () => {
    const allowLabelled = policy('x/allow-labelled', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { 'pod-new': 'updated' } } }] }],
    });
    const headPods = model.pods.map((p) =>
      p.metadata.namespace === 'x' && p.metadata.name === 'b'
        ? { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, 'pod-new': 'updated' } } }
        : p,
    );
    assert.deepEqual(
      actualDiff([allowLabelled], [allowLabelled], headPods),
      expectedDiff(
        model.keys,
        (_f, t) => t !== 'x/a',
        (f, t) => t !== 'x/a' || f === 'x/b',
      ),
    );
  });

  test('a pod that exists on one side only is listed apart, not as changes', () => {
    const extra = {
      ...(model.pods[0] as Pod),
      metadata: { namespace: 'x', name: 'd', labels: { pod: 'd' } },
    };
    const d = diffAnalyses(
      { namespaces: model.namespaces, pods: model.pods, policies: [] },
      { namespaces: model.namespaces, pods: [...model.pods, extra], policies: [] },
      PROFILES.generic,
      {},
    );
    assert.deepEqual(d.addedPods, ['x/d']);
    assert.deepEqual(d.removedPods, []);
    assert.deepEqual([...d.changes()], []);
  });
});

test('on random clusters and policy edits, the diff equals comparing two full analyses cell by cell', () => {
  fc.assert(
    fc.property(clusterArb, policyArb, (cluster, edit) => {
      const head = {
        ...cluster,
        policies: [
          ...cluster.policies.filter(
            (p) => p.metadata.name !== edit.metadata.name || p.metadata.namespace !== edit.metadata.namespace,
          ),
          edit,
        ],
      };
      const d = diffAnalyses(cluster, head, PROFILES.generic, {});
      const got = new Set(
        [...d.changes()].map(
          (c) => `${c.from.key} ${c.to.kind === 'pod' ? c.to.pod.key : c.to.text} ${c.port}/${c.protocol}`,
        ),
      );
      // Two independent full builds, every pod pair and port of either side.
      const b = ExpectationEngine.from(cluster, PROFILES.generic);
      const h = ExpectationEngine.from(head, PROFILES.generic);
      const want = new Set<string>();
      for (const hs of h.classes())
        for (const from of hs.members) {
          const bs = b.classOf(from.namespace, from.name);
          if (!bs) continue;
          for (const hd of h.classes())
            for (const to of hd.members) {
              const bd = b.classOf(to.namespace, to.name);
              if (!bd || to.key === from.key) continue;
              const bdd = b.destinationOf(bd.id);
              const hdd = h.destinationOf(hd.id);
              if (!bdd || !hdd) continue;
              const ports = new Map(
                [...b.portsOf(bdd), ...h.portsOf(hdd)].map((p) => [`${p.port}/${p.protocol}`, p]),
              );
              for (const p of ports.values())
                if (b.allows(bs, bdd, p.port, p.protocol) !== h.allows(hs, hdd, p.port, p.protocol))
                  want.add(`${from.key} ${to.key} ${p.port}/${p.protocol}`);
            }
        }
      assert.deepEqual([...got].sort(), [...want].sort());
    }),
    { numRuns: 200 },
  );
});
