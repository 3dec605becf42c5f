// Smoke test of the benchmark's synthetic clusters: valid objects, the shape asked for, deterministic,
// and class-based verdicts equal to naive ones on them (the benchmark compares the two, so both must
// compute the same thing).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateCluster, parseShape, Rng } from '../../bench/synthetic.ts';
import { classesOf } from '../../src/expect/classes.ts';
import { ExpectationEngine, verdictSignature } from '../../src/expect/engine.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { PROFILES } from '../../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../../src/policy/snapshot.ts';
import type { PodInfo } from '../../src/policy/types.ts';

const SHAPE = { pods: 200, namespaces: 10, policies: 40 };

test('the generator gives the number of pods, namespaces and policies asked for', () => {
  const cluster = generateCluster(SHAPE, 1);
  assert.equal(cluster.pods.length, 200);
  assert.equal(cluster.namespaces.length, 10);
  assert.equal(cluster.policies.length, 40);
});

test('the generator is deterministic for a seed and differs across seeds', () => {
  assert.deepEqual(generateCluster(SHAPE, 7), generateCluster(SHAPE, 7));
  assert.notDeepEqual(generateCluster(SHAPE, 7), generateCluster(SHAPE, 8));
});

test('every generated object is valid: buildSnapshot reports no error', () => {
  const { issues, snapshot, excluded } = buildSnapshot(generateCluster(SHAPE, 1), PROFILES.generic);
  assert.deepEqual(
    issues.filter((i) => i.severity === 'error'),
    [],
  );
  assert.equal(snapshot.pods.length, 200);
  assert.equal(excluded.length, 0);
});

test('replicas share their labels, so there are fewer classes than pods', () => {
  const { snapshot } = buildSnapshot(generateCluster(SHAPE, 1), PROFILES.generic);
  const { classes } = classesOf(snapshot);
  assert.ok(classes.length < snapshot.pods.length / 2, `${classes.length} classes for 200 pods`);
});

test('the policies use the features the benchmark claims: expressions, named ports, endPort, ipBlock except', () => {
  const text = JSON.stringify(generateCluster({ pods: 1000, namespaces: 50, policies: 200 }, 1).policies);
  for (const feature of [
    '"NotIn"',
    '"In"',
    '"Exists"',
    '"endPort"',
    '"except"',
    '"namespaceSelector"',
    '"port":"',
  ]) {
    assert.ok(text.includes(feature), `no ${feature} in the generated policies`);
  }
});

test('class-based verdicts equal naive pod-pair verdicts on a sample of pairs', () => {
  const cluster = generateCluster(SHAPE, 3);
  const { snapshot } = buildSnapshot(cluster, PROFILES.generic);
  const ctx = evalContext(snapshot);
  const engine = ExpectationEngine.from(cluster, PROFILES.generic);
  const rng = new Rng(5);
  const pods = snapshot.pods;
  let compared = 0;
  let allowed = 0;
  for (let k = 0; k < 400; k++) {
    const from = pods[rng.int(pods.length)] as PodInfo;
    const to = pods[rng.int(pods.length)] as PodInfo;
    if (from === to) continue;
    const src = engine.classOf(from.namespace, from.name);
    const dst = engine.classOf(to.namespace, to.name);
    assert.ok(src && dst);
    const destination = engine.destinationOf(dst.id);
    assert.ok(destination);
    for (const p of engine.portsOf(destination)) {
      const naive = evaluate(ctx, { from, to: { kind: 'pod', pod: to }, port: p.port, protocol: p.protocol });
      assert.equal(
        verdictSignature(engine.verdict(src, destination, p.port, p.protocol)),
        verdictSignature(naive),
        `${from.key} -> ${to.key} ${p.port}/${p.protocol}`,
      );
      compared++;
      if (naive.allowed) allowed++;
    }
  }
  assert.ok(compared > 500);
  // Both outcomes occur: the sample exercises allows as well as default-deny.
  assert.ok(allowed > 0 && allowed < compared, `${allowed} of ${compared} allowed`);
});

test('sizes are named or written PODS:NAMESPACES:POLICIES', () => {
  assert.deepEqual(parseShape('10k'), { pods: 10_000, namespaces: 500, policies: 2_000 });
  assert.deepEqual(parseShape('300:20:60'), { pods: 300, namespaces: 20, policies: 60 });
  assert.throws(() => parseShape('lots'), /PODS:NAMESPACES:POLICIES/);
});
