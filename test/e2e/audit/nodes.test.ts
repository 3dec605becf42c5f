// Node verdicts of `netaudit audit` in the lab, with real packets: every node `enforcing` on a healthy
// cluster and the output says so first; a tainted node is probed (probe pods tolerate taints, as node
// monitoring agents do) unless --no-tolerate-taints, and then it is `not-covered` with its taint; a
// cordoned node is `not-covered` with that reason. (enforcer-off is in seed.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLabUp, labEnforcer } from '../../../lab/lab.ts';
import { applyText, deleteNamespaces, request, waitForPods } from '../support/apply.ts';
import { netaudit, parseAudit } from '../support/netaudit.ts';
import { webAndClient } from '../support/workloads.ts';

const NS = 'nodes-e2e';
const NODE = 'nalab-node-2';
const TAINT = { key: 'netaudit.io/e2e', value: 'tainted', effect: 'NoSchedule' };
const AUDIT = ['audit', '-n', NS, '--profile', labEnforcer(), '--timeout', '3s'];

async function patchNode(spec: Record<string, unknown>): Promise<void> {
  await request('PATCH', `/api/v1/nodes/${NODE}`, { spec }, 'application/merge-patch+json');
}

describe('node verdicts (lab, real packets)', { timeout: 900_000 }, () => {
  before(async () => {
    await ensureLabUp();
    await applyText(webAndClient(NS));
    await waitForPods([NS]);
  });
  after(async () => {
    await patchNode({ taints: null, unschedulable: null });
    await deleteNamespaces([NS]);
  });

  test('a healthy cluster: the node verdicts come first, then what was concluded', async () => {
    const run = await netaudit(AUDIT);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    const nodeRows = lines.filter((l) => /nalab-node-\d/.test(l));
    assert.equal(nodeRows.length, 2, run.stdout);
    for (const row of nodeRows) assert.match(row, /enforcing/);
    const conclusion = lines.findIndex((l) => l.startsWith('No mismatch among '));
    assert.ok(conclusion > lines.indexOf(nodeRows[1] as string), run.stdout);
    assert.match(lines[conclusion] ?? '', /^No mismatch among \d+ conclusive flows; \d+ inconclusive\.$/);
  });

  test('a tainted node is probed by default, and not-covered with its taint under --no-tolerate-taints', async () => {
    await patchNode({ taints: [TAINT] });
    const tolerated = parseAudit(await netaudit([...AUDIT, '-o', 'json']));
    assert.deepEqual(
      tolerated.nodes.map((n) => [n.name, n.status]),
      [
        ['nalab-node-1', 'enforcing'],
        [NODE, 'enforcing'],
      ],
    );
    assert.ok((tolerated.nodes[1]?.probes ?? 0) > 0);
    const run = await netaudit([...AUDIT, '-o', 'json', '--no-tolerate-taints']);
    assert.equal(run.code, 0, run.stderr);
    const json = parseAudit(run);
    assert.deepEqual(json.nodes[1], {
      name: NODE,
      status: 'not-covered',
      probes: 0,
      unexpectedAllow: 0,
      unexpectedDeny: 0,
      inconclusive: 0,
      reason: 'not probed: taints netaudit.io/e2e=tainted:NoSchedule (--tolerate-taints to probe it)',
    });
    await patchNode({ taints: null });
  });

  test('a cordoned node is not-covered, and says so', async () => {
    await patchNode({ unschedulable: true });
    const json = parseAudit(await netaudit([...AUDIT, '-o', 'json']));
    assert.equal(json.nodes[1]?.status, 'not-covered');
    assert.equal(json.nodes[1]?.reason, 'not probed: the node is cordoned (unschedulable)');
    assert.equal(json.nodes[0]?.status, 'enforcing');
    await patchNode({ unschedulable: null });
  });
});
