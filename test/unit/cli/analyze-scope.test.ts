// `netaudit analyze` sized for its reader: --from, --to and --namespace narrow every output; a JSON
// listing over --max-verdicts is refused with the flags that narrow it; a table past a screenful is a
// summary whose counts match the input, counted here independently of the engine.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateCluster } from '../../../bench/synthetic.ts';
import { UsageError } from '../../../src/errors.ts';
import { FactoredDecoder } from '../../../src/expect/decode.ts';
import type { FactoredAnalysis } from '../../../src/expect/factored.ts';
import { policiesSelecting } from '../../../src/policy/evaluate.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext } from '../../../src/policy/snapshot.ts';
import { runAnalyzeWith } from '../../support/analyze.ts';

const root = new URL('../../../', import.meta.url).pathname;
const seed = (name: string): string => `${root}examples/seed/${name}`;
const dir = mkdtempSync(join(tmpdir(), 'netaudit-scope-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const cluster = generateCluster({ pods: 200, namespaces: 10, policies: 40 }, 4);
const big = join(dir, 'cluster.json');
writeFileSync(
  big,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      ...cluster.namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', ...n })),
      ...cluster.pods.map((p) => ({ apiVersion: 'v1', kind: 'Pod', ...p })),
      ...cluster.policies.map((p) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...p })),
    ],
  }),
);

const run = runAnalyzeWith;

interface VerdictsJson {
  verdicts: { from: string; to: string; port: number; protocol: string; allowed: boolean }[];
}

describe('analyze scoped and sized', () => {
  test('--from lists one pod row: what the document says test may reach, and nothing from other pods', async () => {
    const r = await run({ file: [seed('05-pod-selector')], output: 'json', from: 'default/test' });
    const json = JSON.parse(r.out) as VerdictsJson;
    assert.ok(json.verdicts.length > 0);
    assert.ok(json.verdicts.every((v) => v.from === 'default/test'));
    const toDb = json.verdicts.filter((v) => v.to === 'default/database');
    assert.ok(toDb.length > 0 && toDb.every((v) => !v.allowed), 'test -> database is denied');
    assert.ok(
      json.verdicts.some((v) => v.to === 'default/app' && v.allowed),
      'test -> app is open',
    );
  });

  test('--to lists one pod column: the rule that lets app in, the policy that keeps test out', async () => {
    const r = await run({ file: [seed('05-pod-selector')], to: 'default/database' });
    assert.match(
      r.out,
      /default\/app -> default\/database 5432\/TCP: allowed by default\/allow-app-to-database#ingress\[0\]/,
    );
    assert.match(
      r.out,
      /default\/test -> default\/database 5432\/TCP: denied: default\/allow-app-to-database isolates ingress and no rule allows it/,
    );
  });

  test('--from with a pod that does not exist is a usage error naming the likely pod', async () => {
    await assert.rejects(
      run({ file: [seed('05-pod-selector')], from: 'x/test' }),
      /--from: "x\/test" is not a pod .*default\/test/,
    );
  });

  test('--namespace keeps the pods of that namespace only', async () => {
    const ns = cluster.namespaces[1]?.metadata.name as string;
    const r = await run({ file: [big], output: 'json', namespace: [ns] });
    const json = JSON.parse(r.out) as VerdictsJson;
    const expected = cluster.pods.filter((p) => p.metadata.namespace === ns).length;
    const froms = new Set(json.verdicts.map((v) => v.from));
    assert.equal(froms.size, expected);
    assert.ok(
      json.verdicts.every(
        (v) => v.from.startsWith(`${ns}/`) && (v.to.startsWith(`${ns}/`) || v.to.startsWith('ip:')),
      ),
    );
  });

  test('a JSON listing over --max-verdicts exits 2 and names the flags that narrow it', async () => {
    await assert.rejects(
      run({ file: [big], output: 'json', maxVerdicts: 1000 }),
      (e: unknown) =>
        e instanceof UsageError &&
        /over --max-verdicts 1000/.test(e.message) &&
        /--namespace/.test(e.message) &&
        /--classes/.test(e.message),
    );
  });

  test('--classes -o json is the factored form at any size; class verdicts are listed only under the limit', async () => {
    const r = await run({ file: [big], output: 'json', classes: true, maxVerdicts: 1000 });
    const json = JSON.parse(r.out) as FactoredAnalysis & {
      summary: { classVerdictsListed: boolean };
      verdicts?: unknown;
    };
    assert.equal(json.format, 'netaudit/factored-v1');
    assert.equal(json.summary.classVerdictsListed, false);
    assert.equal(json.verdicts, undefined);
    const members = json.classes.reduce((n, c) => n + c.members.length, 0);
    assert.equal(members, 200);
    const decoder = new FactoredDecoder(json);
    const [a, b] = json.classes;
    assert.ok(a && b && decoder.verdict(a.id, b.id, 80, 'TCP'));
  });

  test('a table past a screenful is a summary whose per-namespace counts match the input', async () => {
    const r = await run({ file: [big] });
    assert.match(r.out, /Too many pods \(200\) to draw as a matrix/);
    assert.match(r.out, /Drill down: --namespace NS/);
    const { snapshot } = buildSnapshot(cluster, PROFILES.generic);
    const ctx = evalContext(snapshot);
    for (const ns of cluster.namespaces.slice(0, 5)) {
      const name = ns.metadata.name as string;
      const pods = snapshot.pods.filter((p) => p.namespace === name);
      const ingress = pods.filter((p) => policiesSelecting(ctx, p, 'ingress').length > 0).length;
      const egress = pods.filter((p) => policiesSelecting(ctx, p, 'egress').length > 0).length;
      const policies = cluster.policies.filter((p) => p.metadata.namespace === name).length;
      const row = new RegExp(
        `│ ${name} +│ ${pods.length} +│ \\d+ +│ ${policies} +│ ${ingress} +│ ${egress} +│`,
      );
      assert.match(r.out, row, `row of ${name}`);
    }
  });
});

test('the size check counts exactly the verdicts the listing then prints', async () => {
  const { countCells, podVerdicts } = await import('../../../src/expect/cells.ts');
  const { ExpectationEngine } = await import('../../../src/expect/engine.ts');
  const engine = ExpectationEngine.from(cluster, PROFILES.generic);
  const all = engine.classes();
  const one = all.find((c) => c.members.length > 1);
  assert.ok(one);
  const narrowed = { ...one, members: [one.members[0] as (typeof one.members)[number]] };
  const dest = (c: typeof one) => ({ kind: 'class' as const, id: c.id, cls: c, endpoint: c.endpoint });
  for (const scope of [
    {},
    { sources: [narrowed] },
    { destinations: [dest(narrowed)] },
    { sources: [narrowed], destinations: [dest(one)] },
  ]) {
    assert.equal(countCells(engine, scope).podCells, [...podVerdicts(engine, scope)].length);
  }
});
