/**
 * Traffic safety while the lab runs, then `down` leaves nothing behind (also when the state file is
 * lost, as after a crash), and a warm `up` from nothing is fast. Runs last (zz-): it takes the lab
 * down and brings it up again, so lab test files must run one at a time (--test-concurrency=1).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BRIDGE, HOST_UNREACHABLE, LAB_RANGES, nodeSpec, STATE_FILE } from '../../../lab/config.ts';
import { leftovers } from '../../../lab/down.ts';
import {
  createNamespace,
  deleteNamespaces,
  ensureLabUp,
  expectReach,
  labCommand,
  labEnforcer,
  labExternals,
  labNodes,
  SCRIPT,
  serverPod,
  startPods,
} from '../../../lab/lab.ts';
import { findLabProcesses } from '../../../lab/procs.ts';
import { inNetns, out, run } from '../../../lab/sh.ts';

async function uplinks(): Promise<string[]> {
  const r = JSON.parse(await out('ip', ['-j', 'route', 'show', 'default'])) as { dev: string }[];
  return r.map((x) => x.dev);
}

describe('lab safety and lifecycle', () => {
  // Chosen while the lab is up: `down` below removes the state that records it.
  let enforcer = labEnforcer();
  it('keeps lab traffic off the uplink: unreachable routes, uplink drops, no default route in nodes', async () => {
    await ensureLabUp();
    // The node/pod range and every stand-in are unreachable from the host itself ...
    const { ips } = labExternals();
    for (const dst of [HOST_UNREACHABLE, ...ips.map((x) => `${x}/32`)]) {
      const r = await out('ip', ['-j', 'route', 'show', 'type', 'unreachable', dst]);
      assert.notEqual(r.trim(), '[]', `unreachable route for ${dst}`);
    }
    for (const dst of ['198.18.1.77', ...ips]) {
      const r = await run('ip', ['route', 'get', dst], { check: false });
      assert.notEqual(r.code, 0, `host route to ${dst}: ${r.stdout}`);
    }
    // ... except the nodes' pod ranges, which lead only into the lab's bridge (pods reach the API
    // server, as on a control-plane node), never to an uplink.
    const pod = await run('ip', ['route', 'get', '198.19.1.2'], { check: false });
    assert.equal(pod.code, 0, pod.stderr);
    assert.match(pod.stdout, new RegExp(`via ${nodeSpec(1).ip} dev ${BRIDGE} `));
    // ... but not the whole of TEST-NET-3: this sandbox's package registries answer at 203.0.113.80.
    const wide = await out('ip', ['-j', 'route', 'show', 'exact', '203.0.113.0/24']);
    assert.equal(wide.trim(), '[]', 'no route hijacks 203.0.113.0/24 on the host');
    for (const dev of await uplinks()) {
      for (const range of LAB_RANGES) {
        for (const chain of ['FORWARD', 'OUTPUT']) {
          const ok = await run(
            'iptables',
            ['-C', chain, '-s', range, '-o', dev, '-m', 'comment', '--comment', 'nalab-safety', '-j', 'DROP'],
            { check: false },
          );
          assert.equal(ok.code, 0, `${chain} drop for ${range} via ${dev}`);
        }
      }
    }
    for (const [i] of labNodes().entries()) {
      const netns = nodeSpec(i + 1).netns;
      const routes = await inNetns(netns, 'ip', ['route', 'show', 'default']);
      assert.equal(routes.stdout.trim(), '', `${netns} has no default route`);
      const get = await inNetns(netns, 'ip', ['route', 'get', '192.0.2.1'], { check: false });
      assert.notEqual(get.code, 0, `${netns} cannot route outside the lab`);
    }
  });

  it('external add brings up one more stand-in, reachable from pods on every node', async () => {
    await ensureLabUp();
    await labCommand(['external', 'add', '203.0.113.20']);
    assert.ok(labExternals().ips.includes('203.0.113.20'));
    const ns = `lab-ext-${Date.now().toString(36)}`;
    await createNamespace(ns);
    try {
      const nodes = labNodes();
      await startPods(
        ns,
        nodes.map((n, i) => serverPod(`p${i}`, { node: n })),
      );
      for (const [i] of nodes.entries()) {
        await expectReach(
          ns,
          `p${i}`,
          ['tcp:203.0.113.20:80', 'udp:203.0.113.20:53', 'tcp:203.0.113.8:443'],
          true,
        );
      }
    } finally {
      await deleteNamespaces([ns]);
    }
  });

  it('down removes every process, netns, link, route, rule and ipset, even without its state file', async () => {
    await ensureLabUp();
    enforcer = labEnforcer();
    // Lose the state file, as a crash of `up` could: down must still find everything.
    rmSync(STATE_FILE, { force: true });
    await labCommand(['down']);
    assert.deepEqual(await leftovers(), []);
    assert.deepEqual(findLabProcesses(), []);
    const r = await run(SCRIPT, ['leftovers'], { check: false });
    assert.equal(r.code, 0, r.stdout);
    // Idempotent.
    await labCommand(['down']);
  });

  it('a warm up from nothing takes under 60 s (Cilium: 120 s) and status reports everything up', async () => {
    const t0 = Date.now();
    await labCommand(['up', '--enforcer', enforcer]);
    const ms = Date.now() - t0;
    process.stderr.write(`# warm lab up from nothing: ${(ms / 1000).toFixed(1)} s\n`);
    // Each Cilium agent compiles its datapath at every start (its template cache is in memory).
    assert.ok(ms < (enforcer === 'cilium' ? 120_000 : 60_000), `up took ${ms} ms`);
    const st = await run(SCRIPT, ['status'], { check: false });
    assert.equal(st.code, 0, st.stdout);
    assert.match(st.stdout, /nalab-node-1=Ready nalab-node-2=Ready/);
    assert.match(st.stdout, new RegExp(`^enforcer  ${enforcer}: `, 'm'));
    // Idempotent and fast when up.
    const t1 = Date.now();
    await labCommand(['up']);
    process.stderr.write(`# lab up when already up: ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
  });
});
