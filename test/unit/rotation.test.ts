// Rotation of classes over nodes under --max-probe-pods: budget, canary on every node, full coverage
// within the advertised number of rounds, stable pod names, and mismatches that stand until re-probed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { planRound } from '../../src/audit/plan.ts';
import {
  type FlowRecord,
  flowKey,
  type RotationClass,
  type RotationInput,
  rotate,
  standingFindings,
  verdictKey,
} from '../../src/audit/rotation.ts';
import { type RoundOptions, type RoundReport, runRound } from '../../src/audit/round.ts';
import {
  enforcingNetwork,
  type NetworkModel,
  nodesNotEnforcing,
  SimulatedRunner,
} from '../../src/audit/simulated-runner.ts';
import type { Finding } from '../../src/core/flow.ts';
import { classesOf } from '../../src/expect/classes.ts';
import { PROFILES } from '../../src/policy/profiles.ts';
import { buildSnapshot } from '../../src/policy/snapshot.ts';
import { Metrics } from '../../src/report/metrics.ts';
import { policy, upstreamModel } from '../support/fixtures.ts';

const nodeNames = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`);
const userClasses = (costs: readonly number[]): RotationClass[] =>
  costs.map((c, i) => ({ id: `u${String(i).padStart(2, '0')}`, namespace: 'app', podsPerNode: c }));
const canaryClasses = (costs: readonly number[]): RotationClass[] =>
  costs.map((c, i) => ({ id: `k${i}`, namespace: 'netaudit-canary', podsPerNode: c }));

/** Runs `rounds` consecutive rounds from the input's cursor; the (class, node) pairs each covered. */
function cycle(
  input: RotationInput,
  rounds: number,
): { pairs: Set<string>; results: ReturnType<typeof rotate>[] } {
  const pairs = new Set<string>();
  const results: ReturnType<typeof rotate>[] = [];
  let cursor = input.cursor;
  for (let r = 0; r < rounds; r++) {
    const result = rotate({ ...input, cursor });
    results.push(result);
    for (const [id, nodes] of result.assignment) for (const i of nodes) pairs.add(`${id}@${i}`);
    cursor = result.nextCursor;
  }
  return { pairs, results };
}

describe('rotate', () => {
  test('when every class on every node fits the budget (or there is none), nothing rotates', () => {
    const classes = [...userClasses([2, 1, 2]), ...canaryClasses([2, 1, 1])];
    for (const maxProbePods of [undefined, 9 * 10]) {
      const r = rotate({
        nodes: nodeNames(10),
        classes,
        maxProbePods,
        canaryNamespace: 'netaudit-canary',
        cursor: 7,
      });
      for (const c of classes) assert.deepEqual(r.assignment.get(c.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(r.coverage, { pairsCovered: 60, pairsTotal: 60, nodesCovered: 10, rounds: 1 });
      assert.equal(r.probePods, 90);
      assert.equal(r.overBudget, false);
    }
  });

  test('past the budget: each class gets a window, the canary every node, and the windows slide', () => {
    // 10 nodes; canary 4 pods/node = 40; users 6 classes x 2 pods = 12 per node; budget 40 + 36 -> 3 nodes each.
    const input: RotationInput = {
      nodes: nodeNames(10),
      classes: [...canaryClasses([2, 1, 1]), ...userClasses([2, 2, 2, 2, 2, 2])],
      maxProbePods: 76,
      canaryNamespace: 'netaudit-canary',
      cursor: 0,
    };
    const first = rotate(input);
    assert.equal(first.coverage.rounds, 4);
    assert.equal(first.probePods, 76);
    assert.equal(first.coverage.pairsCovered, 3 * 10 + 6 * 3);
    assert.equal(first.coverage.pairsTotal, 9 * 10);
    // Windows laid end to end: u00 on 0..2, u01 on 3..5, u02 on 6..8, u03 on 9,0,1, ...
    assert.deepEqual(first.assignment.get('u00'), [0, 1, 2]);
    assert.deepEqual(first.assignment.get('u03'), [0, 1, 9]);
    assert.equal(first.nextCursor, 3);
    const second = rotate({ ...input, cursor: first.nextCursor });
    assert.deepEqual(second.assignment.get('u00'), [3, 4, 5]);
    const { pairs, results } = cycle(input, first.coverage.rounds);
    assert.equal(pairs.size, 90, 'every (class, node) pair within `rounds` rounds');
    for (const r of results) {
      assert.ok(r.probePods <= 76);
      for (const k of ['k0', 'k1', 'k2']) assert.equal(r.assignment.get(k)?.length, 10);
      for (const u of ['u00', 'u01', 'u02', 'u03', 'u04', 'u05'])
        assert.ok((r.assignment.get(u)?.length ?? 0) >= 3);
    }
    // One round fewer leaves pairs out: the advertised count is not loose.
    assert.ok(cycle(input, first.coverage.rounds - 1).pairs.size < 90);
  });

  test('the result does not depend on the order the classes come in', () => {
    const classes = [...userClasses([1, 2, 1, 2, 2, 1, 1]), ...canaryClasses([2, 1])];
    const input = {
      nodes: nodeNames(9),
      classes,
      maxProbePods: 40,
      canaryNamespace: 'netaudit-canary',
      cursor: 5,
    };
    const a = rotate(input);
    const b = rotate({ ...input, classes: [...classes].reverse() });
    assert.deepEqual([...a.assignment].sort(), [...b.assignment].sort());
    assert.deepEqual(a.coverage, b.coverage);
    assert.equal(a.nextCursor, b.nextCursor);
  });

  test('a budget below the canary still probes the canary everywhere and one user pair, and says so', () => {
    const r = rotate({
      nodes: nodeNames(5),
      classes: [...canaryClasses([2, 1, 1]), ...userClasses([2, 1])],
      maxProbePods: 10,
      canaryNamespace: 'netaudit-canary',
      cursor: 0,
    });
    assert.equal(r.overBudget, true);
    assert.equal(r.coverage.pairsCovered, 15 + 1);
    // The class off this round is still listed (empty): it is in scope, just not probed now.
    assert.deepEqual(r.assignment.get('u00'), [0]);
    assert.deepEqual(r.assignment.get('u01'), []);
    assert.equal(r.coverage.rounds, 10);
  });

  test('property: within budget, user pairs spread over distinct nodes, every pair within `rounds` rounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }),
        fc.array(fc.constantFrom(1, 2), { maxLength: 12 }),
        fc.array(fc.constantFrom(1, 2), { maxLength: 3 }),
        fc.integer({ min: 0, max: 300 }),
        fc.nat(1000),
        (n, userCosts, canaryCosts, extra, cursor) => {
          const canaryPods = canaryCosts.reduce((s, c) => s + c * n, 0);
          // The least budget that leaves room for one user pair after the canary.
          const input: RotationInput = {
            nodes: nodeNames(n),
            classes: [...userClasses(userCosts), ...canaryClasses(canaryCosts)],
            maxProbePods: canaryPods + 2 + extra,
            canaryNamespace: 'netaudit-canary',
            cursor,
          };
          const first = rotate(input);
          assert.deepEqual(rotate(input), first, 'deterministic');
          const { pairs, results } = cycle(input, first.coverage.rounds);
          assert.equal(pairs.size, (userCosts.length + canaryCosts.length) * n);
          const perNode = userCosts.reduce((s, c) => s + c, 0);
          for (const r of results) {
            assert.ok(r.probePods <= (input.maxProbePods ?? 0), `${r.probePods} pods`);
            assert.equal(r.overBudget, false);
            for (let k = 0; k < canaryCosts.length; k++) assert.equal(r.assignment.get(`k${k}`)?.length, n);
            const users = userClasses(userCosts).map((c) => r.assignment.get(c.id) ?? []);
            const userPairs = users.reduce((s, l) => s + l.length, 0);
            assert.equal(new Set(users.flat()).size, Math.min(n, userPairs), 'user pairs on distinct nodes');
            // With room for one node per class, every class (and every flow between two) is probed.
            if ((input.maxProbePods ?? 0) - canaryPods >= perNode)
              assert.ok(users.every((l) => l.length > 0));
            const nodes = new Set([...r.assignment.values()].flat());
            assert.equal(r.coverage.nodesCovered, nodes.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

const model = upstreamModel();
const policies = [
  policy('x/deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
  policy('x/allow-from-y', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80 }] }],
  }),
];
const cluster = { namespaces: model.namespaces, pods: model.pods, policies };
const options: RoundOptions = {
  profile: PROFILES.generic,
  externals: [],
  ports: [{ port: 80, protocol: 'TCP' }],
  namespaces: [],
  timeoutMs: 1000,
  attempts: 1,
  confirmAttempts: 3,
  clientDelayMs: 0,
  settleMs: 0,
};

describe('planRound with an assignment', () => {
  test('pod names carry the index in the full node list, whatever window the round covers', () => {
    const { snapshot } = buildSnapshot(cluster, PROFILES.generic);
    const { classes, projection } = classesOf(snapshot);
    const input = {
      classes,
      projection,
      nodes: ['n0', 'n1', 'n2', 'n3'],
      portsOf: () => [{ port: 80, protocol: 'TCP' as const }],
      guards: [],
      namespaces: [],
      reservedLabelPrefix: 'netaudit.io/',
    };
    const full = planRound(input);
    const [first, second] = classes;
    assert.ok(first && second);
    const plan = planRound(input, new Map([[first.id, [2, 3]]]));
    assert.deepEqual(
      plan.clients.map((c) => [c.key, c.node]),
      [
        [`netaudit-cli-${first.id}-n2`, 'n2'],
        [`netaudit-cli-${first.id}-n3`, 'n3'],
      ],
    );
    assert.deepEqual(
      plan.servers.map((s) => s.key),
      [`netaudit-srv-${first.id}-n2`, `netaudit-srv-${first.id}-n3`],
    );
    // The same pods the full plan names for those nodes; a class the assignment omits gets none.
    const fullKeys = new Set(full.clients.map((c) => c.key));
    assert.ok(plan.clients.every((c) => fullKeys.has(c.key)));
    assert.ok(!plan.clients.some((c) => c.classId === second.id));
  });
});

async function round(
  network: NetworkModel,
  cursor: number,
  maxProbePods: number | undefined,
): Promise<RoundReport> {
  const runner = new SimulatedRunner(cluster, PROFILES.generic, network);
  return runRound({ cluster, nodes: ['n1', 'n2', 'n3', 'n4'], guards: [] }, runner, {
    ...options,
    rotation: { maxProbePods, canaryNamespace: undefined, cursor },
  });
}

function publish(previous: readonly Finding[], report: RoundReport, changed = new Set<string>()): Finding[] {
  return standingFindings({
    previous,
    current: report.mismatches,
    probed: report.probes.filter((p) => p.observed !== 'error' && p.observed !== 'mixed'),
    classes: new Set(report.rotation.assignment.keys()),
    nodes: new Set(report.rotation.nodes),
    changedVerdicts: changed,
  });
}

describe('a round under a budget', () => {
  test('plans within the budget and reports the coverage the metrics export', async () => {
    // Every class listens on 80/TCP: 2 pods per class per node; half of that on 4 nodes is 2 nodes each.
    const full = await round(enforcingNetwork, 0, undefined);
    assert.equal(full.rotation.coverage.rounds, 1);
    const classCount = full.rotation.assignment.size;
    const r = await round(enforcingNetwork, 0, classCount * 2 * 2);
    assert.equal(r.rotation.coverage.rounds, 2);
    assert.equal(r.rotation.probePods, classCount * 2 * 2);
    assert.equal(r.summary.podsCreated, classCount * 2 * 2);
    assert.equal(r.rotation.coverage.nodesCovered, 4);
    const m = new Metrics({ processMetrics: false });
    m.recordRound(r, 1);
    const text = await m.registry.metrics();
    assert.match(text, /^netaudit_coverage_ratio 0\.5$/m);
    assert.match(text, /^netaudit_rotation_rounds 2$/m);
    assert.match(text, /^netaudit_nodes_covered 4$/m);
    m.recordRound(full, 1);
    assert.match(await m.registry.metrics(), /^netaudit_coverage_ratio 1$/m);
  });

  test('a mismatch stands while its flow is off the window, and clears once probed again', async () => {
    const classCount = (await round(enforcingNetwork, 0, undefined)).rotation.assignment.size;
    const budget = classCount * 2 * 2;
    const broken = nodesNotEnforcing(['n1']);
    const r1 = await round(broken, 0, budget);
    assert.ok(r1.mismatches.length > 0);
    const s1 = publish([], r1);
    const r2 = await round(broken, r1.rotation.nextCursor, budget);
    const s2 = publish(s1, r2);
    const keys2 = new Set(s2.map(flowKey));
    // Round 2 slid every window off the nodes round 1 probed: none of its flows were probed again,
    // so all its mismatches still stand (publishing round 2 alone would have dropped them).
    assert.ok(r1.mismatches.every((f) => keys2.has(flowKey(f))));
    assert.ok(r1.mismatches.some((f) => !r2.mismatches.some((g) => flowKey(g) === flowKey(f))));
    const gauge = new Metrics({ processMetrics: false });
    gauge.setMismatches(s2);
    const total = (await gauge.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('netaudit_mismatches{'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(total, s2.length);
    // The node is fixed. Round 3 re-probes round 1's window: those clear; round 2's still stand.
    const r3 = await round(enforcingNetwork, r2.rotation.nextCursor, budget);
    assert.equal(r3.mismatches.length, 0);
    const s3 = publish(s2, r3);
    assert.deepEqual(new Set(s3.map(flowKey)), new Set(r2.mismatches.map(flowKey)));
    const r4 = await round(enforcingNetwork, r3.rotation.nextCursor, budget);
    assert.deepEqual(publish(s3, r4), []);
  });
});

describe('standingFindings', () => {
  const flow = (over: Partial<FlowRecord> = {}): FlowRecord => ({
    fromClass: 'a',
    toClass: 'b',
    to: 'ns/b',
    srcNode: 'n1',
    dstNode: 'n2',
    port: 80,
    protocol: 'TCP',
    ...over,
  });
  const base = {
    current: [] as FlowRecord[],
    probed: [] as FlowRecord[],
    classes: new Set(['a', 'b']),
    nodes: new Set(['n1', 'n2']),
    changedVerdicts: new Set<string>(),
  };

  test('keeps an unprobed finding, drops a re-probed one, never duplicates', () => {
    const kept = flow();
    const reprobed = flow({ port: 443 });
    const external = flow({ toClass: undefined, to: 'ip:203.0.113.8', dstNode: undefined });
    const out = standingFindings({
      ...base,
      previous: [kept, reprobed, external],
      current: [kept],
      probed: [reprobed, kept],
    });
    assert.deepEqual(out.map(flowKey), [kept, external].map(flowKey));
  });

  test('drops findings on classes or nodes that are gone, or whose expectation changed', () => {
    const out = standingFindings({
      ...base,
      previous: [
        flow({ fromClass: 'gone' }),
        flow({ toClass: 'gone' }),
        flow({ srcNode: 'n9' }),
        flow({ dstNode: 'n9' }),
        flow({ port: 8080 }),
      ],
      changedVerdicts: new Set([verdictKey('a', 'b', 8080, 'TCP')]),
    });
    assert.deepEqual(out, []);
  });
});
