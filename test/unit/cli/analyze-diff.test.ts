// `netaudit analyze --base`: what a pull request's change opens and closes, in the JSON contract, as
// a pull-request comment, and as an exit code to gate on. The seed's PodSelector example (test may
// not reach the database) is changed to also admit role=test: exactly that flow opens.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AnalyzeArgs } from '../../../src/cli/analyze.ts';
import { runAnalyzeWith } from '../../support/analyze.ts';

const root = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'netaudit-diff-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const base = join(dir, 'base');
const head = join(dir, 'head');
cpSync(`${root}examples/seed/05-pod-selector`, base, { recursive: true });
cpSync(base, head, { recursive: true });
const policyFile = join(head, 'policy.yaml');
writeFileSync(
  policyFile,
  readFileSync(policyFile, 'utf8').replace(
    /- podSelector:\n(\s+)matchLabels:\n\s+role: app/,
    (m, indent: string) =>
      `${m}\n${indent.slice(4)}- podSelector:\n${indent}matchLabels:\n${indent}  role: test`,
  ),
);
writeFileSync(
  join(head, 'extra.yaml'),
  'apiVersion: v1\nkind: Pod\nmetadata: { name: cache, labels: { role: cache } }\nspec:\n  containers: [{ name: c, image: redis, ports: [{ containerPort: 6379 }] }]\n',
);

const run = (partial: Partial<AnalyzeArgs>) => runAnalyzeWith({ file: [head], base: [base], ...partial });

describe('analyze --base', () => {
  test('-o json lists the opened flow with the rule that now allows it, and the new pod apart', async () => {
    const r = await run({ output: 'json' });
    assert.equal(r.code, 0);
    const json = JSON.parse(r.out) as {
      summary: { opened: number; closed: number };
      changes: unknown[];
      addedPods: string[];
      removedPods: string[];
    };
    assert.deepEqual(json.changes, [
      {
        from: 'default/test',
        to: 'default/database',
        port: 5432,
        protocol: 'TCP',
        before: 'deny',
        after: 'allow',
        because: ['default/allow-app-to-database#ingress[0]'],
      },
    ]);
    assert.deepEqual(json.summary, {
      profile: 'generic',
      opened: 1,
      closed: 0,
      addedPods: 1,
      removedPods: 0,
    });
    assert.deepEqual(json.addedPods, ['default/cache']);
    assert.deepEqual(json.removedPods, []);
  });

  test('--fail-on opened exits 1, --fail-on closed exits 0', async () => {
    assert.equal((await run({ failOn: 'opened' })).code, 1);
    assert.equal((await run({ failOn: 'closed' })).code, 0);
    assert.equal((await run({ failOn: 'any' })).code, 1);
  });

  test('swapping base and head reports the same flow closed', async () => {
    const r = await run({ file: [base], base: [head], output: 'json' });
    const json = JSON.parse(r.out) as { changes: { after: string }[]; removedPods: string[] };
    assert.deepEqual(
      json.changes.map((c) => c.after),
      ['deny'],
    );
    assert.deepEqual(json.removedPods, ['default/cache']);
  });

  test('markdown is a pull-request comment: opened first, grouped, every flow collapsed', async () => {
    const r = await run({ output: 'markdown' });
    assert.match(r.out, /### netaudit: what this change opens and closes/);
    assert.match(r.out, /This change \*\*opens 1\*\* and closes 0 flows/);
    assert.match(r.out, /#### Opened \(1\)/);
    assert.match(r.out, /\| default \| default \| 1 \| default\/allow-app-to-database#ingress\[0\] \|/);
    assert.match(r.out, /<details><summary>Every flow \(1\)<\/summary>/);
    assert.doesNotMatch(r.out, /#### Closed/);
    assert.match(r.out, /Pods added: `default\/cache`/);
  });

  test('--fail-on without --base is a usage error', async () => {
    await assert.rejects(run({ base: undefined, failOn: 'opened' }), /--fail-on needs --base/);
  });
});

test('the CI example runs only commands netaudit accepts, with the exit codes it relies on', async () => {
  const workflow = readFileSync(`${root}examples/ci/netaudit-pull-request.yaml`, 'utf8');
  const commands = [...workflow.matchAll(/^\s+netaudit (analyze -f [^>\n]*)/gm)].map((m) =>
    (m[1] ?? '').trim(),
  );
  assert.equal(commands.length, 2);
  const { spawnSync } = await import('node:child_process');
  for (const command of commands) {
    const argv = command
      .split(/\s+/)
      .map((a) => (a === '/tmp/render/head' ? head : a === '/tmp/render/base' ? base : a));
    const r = spawnSync(`${root}bin/netaudit`, argv, { encoding: 'utf8' });
    // 1: the change opens a flow (the workflow's gate); never 2 (usage or input errors).
    assert.ok(r.status === 0 || r.status === 1, `${command}: exit ${r.status}: ${r.stderr}`);
  }
});
