// LeaderElector against a fake Lease endpoint on loopback (compare-and-swap on resourceVersion, as the
// API server does): it acquires a free Lease, renews with one write a period (no read), and gives up
// leadership as soon as a write conflicts and the Lease turns out to be someone else's.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { LeaderElector } from '../../../src/kube/lease.ts';

interface FakeLease {
  server: Server;
  kc: k8s.KubeConfig;
  requests: string[];
  /** The stored Lease (undefined: none yet); tests may overwrite it as another replica would. */
  lease: { metadata: Record<string, unknown>; spec: Record<string, unknown> } | undefined;
}

async function fakeLeaseServer(): Promise<FakeLease> {
  let rv = 1;
  const fake: FakeLease = {
    server: undefined as unknown as Server,
    kc: new k8s.KubeConfig(),
    requests: [],
    lease: undefined,
  };
  fake.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      fake.requests.push(req.method ?? '');
      const send = (code: number, obj: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      const conflict = () =>
        send(409, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 409, reason: 'Conflict' });
      if (req.method === 'GET') {
        if (!fake.lease)
          return send(404, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            code: 404,
            reason: 'NotFound',
          });
        return send(200, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...fake.lease });
      }
      const incoming = JSON.parse(body) as {
        metadata: Record<string, unknown>;
        spec: Record<string, unknown>;
      };
      if (req.method === 'POST') {
        if (fake.lease) return conflict();
      } else if (incoming.metadata.resourceVersion !== fake.lease?.metadata.resourceVersion) {
        return conflict();
      }
      fake.lease = { metadata: { ...incoming.metadata, resourceVersion: String(++rv) }, spec: incoming.spec };
      send(req.method === 'POST' ? 201 : 200, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        ...fake.lease,
      });
    });
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  const port = (fake.server.address() as AddressInfo).port;
  fake.kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return fake;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function elector(fake: FakeLease, events: string[]): LeaderElector {
  const e = new LeaderElector(fake.kc, {
    namespace: 'netaudit',
    name: 'netaudit-controller',
    identity: 'me',
    retryPeriodMs: 50,
    logger: pino({ level: 'silent' }),
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
  });
  cleanups.push(async () => {
    await e.stop();
    fake.server.closeAllConnections();
    await new Promise((r) => fake.server.close(r));
  });
  return e;
}

const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('acquires a free Lease, then renews with one write a period and no read', async () => {
  const fake = await fakeLeaseServer();
  const events: string[] = [];
  const e = elector(fake, events);
  e.start();
  await until('leading', () => e.state === 'leader');
  assert.deepEqual(fake.requests.slice(0, 2), ['GET', 'POST']);
  const before = fake.requests.length;
  await until('five renewals', () => fake.requests.length >= before + 5);
  assert.deepEqual(new Set(fake.requests.slice(before)), new Set(['PUT']));
  assert.equal(fake.lease?.spec.holderIdentity, 'me');
  assert.deepEqual(events, ['started']);
});

test('a renewal that conflicts reads the Lease again, and another holder ends the leadership', async () => {
  const fake = await fakeLeaseServer();
  const events: string[] = [];
  const e = elector(fake, events);
  e.start();
  await until('leading', () => e.state === 'leader');
  // Another replica took the Lease (say, after this one stalled past its renew deadline).
  const lease = fake.lease;
  assert.ok(lease);
  fake.lease = {
    metadata: { ...lease.metadata, resourceVersion: '9999' },
    spec: { ...lease.spec, holderIdentity: 'other', renewTime: new Date().toISOString() },
  };
  await until('following', () => e.state === 'follower');
  assert.deepEqual(events, ['started', 'stopped']);
  assert.equal(fake.lease?.spec.holderIdentity, 'other', 'the other holder kept its Lease');
  assert.ok(fake.requests.includes('GET'));
});
