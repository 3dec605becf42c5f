// Faults the audit must see or survive, in the lab with real packets:
//  - a stray drop of one flow is reported as exactly that unexpected-deny;
//  - an audit killed with SIGKILL mid-round leaves probe pods that the next run deletes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLabUp, labCommand, labEnforcer } from '../../../lab/lab.ts';
import { waitFor } from '../../../lab/sh.ts';
import { applyFile, deleteNamespaces, podIP, request, waitForPods } from '../support/apply.ts';
import { netaudit, parseAudit, type Run, startNetaudit } from '../support/netaudit.ts';
import { SEED_FILE, SEED_NAMESPACES } from '../support/seed.ts';

const NAMESPACES = SEED_NAMESPACES;
const BASE = ['audit', '-n', 'seed-demo', '--profile', labEnforcer(), '-o', 'json'];

async function probePods(): Promise<string[]> {
  const list = (await request('GET', '/api/v1/pods?labelSelector=netaudit.io%2Finstance%3Daudit')) as {
    items: { metadata: { namespace: string; name: string } }[];
  };
  return list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}

describe('netaudit audit under faults (lab, real packets)', { timeout: 900_000 }, () => {
  before(async () => {
    await ensureLabUp();
    await applyFile(SEED_FILE);
    await waitForPods(NAMESPACES);
  });
  after(async () => {
    await labCommand(['fault', 'clear']);
    await deleteNamespaces(NAMESPACES);
  });

  test('a stray drop of one flow is reported as exactly that unexpected-deny', async () => {
    // Probe pod names are deterministic (class id, node index): a dry run names them.
    const dry = parseAudit(await netaudit([...BASE, '--dry-run', '--include-probes']));
    const flow = dry.probes?.find(
      (p) =>
        p.from === 'seed-demo/scanner' &&
        p.to.startsWith('seed-demo/prod-') &&
        p.port === 80 &&
        p.protocol === 'TCP' &&
        p.srcNode === 'nalab-node-1' &&
        p.dstNode === 'nalab-node-2',
    ) as { clientPod: string; serverPod: string } | undefined;
    assert.ok(flow, 'the dry run plans scanner -> prod 80/TCP from node 1 to node 2');
    const [ns, client] = flow.clientPod.split('/') as [string, string];
    const server = flow.serverPod.split('/')[1] as string;
    const audit = startNetaudit([...BASE, '--client-delay', '8s']);
    // The drop goes in while the clients wait (8 s), for the first probe and for its confirmation.
    for (const pod of [client, `${client.replace(/-p\d+$/, '')}-c0`]) {
      await waitFor(
        `${ns}/${pod} and ${ns}/${server} with IPs`,
        async () => ((await podIP(ns, pod)) && (await podIP(ns, server)) ? true : undefined),
        120_000,
      );
      const r = await labCommand([
        'fault',
        'drop',
        '--from',
        `${ns}/${pod}`,
        '--to',
        `${ns}/${server}`,
        '--port',
        '80/TCP',
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const run = await audit.done;
    const json = parseAudit(run);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(json.mismatches.length, 1, JSON.stringify(json.mismatches, null, 2));
    const [m] = json.mismatches;
    assert.equal(m?.kind, 'unexpected-deny');
    assert.equal(m?.from, 'seed-demo/scanner');
    assert.match(m?.to ?? '', /^seed-demo\/prod-/);
    assert.equal(m?.port, 80);
    assert.equal(m?.protocol, 'TCP');
    assert.deepEqual(m?.nodes, ['nalab-node-1', 'nalab-node-2']);
    assert.deepEqual(m?.because, ['seed-demo/demo-network-policy#ingress[0]']);
    await labCommand(['fault', 'clear']);
  });

  test('a run killed with SIGKILL mid-round leaves pods that the next run deletes', async () => {
    const killed = startNetaudit([...BASE, '--client-delay', '20s']);
    let ended: Run | undefined;
    void killed.done.then((r) => {
      ended = r;
    });
    await waitFor(
      'probe pods of the first run',
      async () => {
        // A run that ended on its own will never make them: say why instead of waiting.
        if (ended) return true;
        return (await probePods()).length >= 4 ? true : undefined;
      },
      60_000,
      150,
    );
    assert.equal(ended, undefined, `the first run ended before it was killed: ${JSON.stringify(ended)}`);
    killed.kill();
    await killed.done;
    const left = await probePods();
    assert.ok(left.length >= 4, `probe pods left behind: ${left.join(', ')}`);
    const run = await netaudit(BASE);
    assert.equal(run.code, 0, run.stderr);
    // The next run deleted the orphans at start and its own pods at the end.
    await waitFor(
      'no netaudit pod left',
      async () => ((await probePods()).length === 0 ? true : undefined),
      60_000,
    );
  });
});
