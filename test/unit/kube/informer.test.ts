// ResilientInformer against a scripted API server on loopback: errors restart the watch with backoff,
// LISTs stay rate-limited whatever happens, a silent stream is restarted by the watchdog, and stop()
// is final (its own abort error never resurrects the informer).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { ResilientInformer } from '../../../src/kube/informer.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, n: { lists: number; watches: number }) => void;

async function fakeApi(
  handler: Handler,
): Promise<{ server: Server; kc: k8s.KubeConfig; counts: { lists: number; watches: number } }> {
  const counts = { lists: 0, watches: 0 };
  const server = createServer((req, res) => {
    if (req.url?.includes('watch=true')) counts.watches++;
    else counts.lists++;
    handler(req, res, counts);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { server, kc, counts };
}

const list = (rv: string, names: string[]) =>
  JSON.stringify({
    kind: 'NamespaceList',
    apiVersion: 'v1',
    metadata: { resourceVersion: rv },
    items: names.map((name) => ({ metadata: { name, resourceVersion: rv } })),
  });

const silent = pino({ level: 'silent' });

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function informer(
  kc: k8s.KubeConfig,
  opts: {
    minListIntervalMs?: number;
    watchdogMs?: number;
    transform?: (o: k8s.V1Namespace) => k8s.V1Namespace;
  } = {},
) {
  const seen: string[] = [];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const inf = new ResilientInformer<k8s.V1Namespace>(
    kc,
    {
      resource: 'namespaces',
      path: '/api/v1/namespaces',
      list: () => core.listNamespace(),
      logger: silent,
      minListIntervalMs: opts.minListIntervalMs ?? 300,
      watchdogMs: opts.watchdogMs ?? 60_000,
      maxBackoffMs: 200,
      ...(opts.transform ? { transform: opts.transform } : {}),
    },
    {
      add: (o) => seen.push(`add ${o.metadata?.name}`),
      update: (o) => seen.push(`update ${o.metadata?.name}`),
      delete: (o) => seen.push(`delete ${o.metadata?.name}`),
    },
  );
  cleanups.push(() => inf.stop());
  return { inf, seen };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ResilientInformer', () => {
  test('lists, watches, and reports synced', async () => {
    const api = await fakeApi((req, res) => {
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(
          `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'b', resourceVersion: '2' } } })}\n`,
        );
        return; // keep the stream open
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(list('1', ['a']));
    });
    cleanups.push(() => closeServer(api.server));
    const { inf, seen } = informer(api.kc);
    await inf.start();
    assert.equal(inf.isSynced, true);
    await sleep(100);
    assert.deepEqual(seen, ['add a', 'add b']);
  });

  test('a failing watch is restarted with backoff, and LISTs stay rate-limited', async () => {
    const api = await fakeApi((req, res) => {
      if (req.url?.includes('watch=true')) {
        res.writeHead(500);
        res.end('boom');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      // Every list is answered, but every watch fails: the informer must keep trying, gently.
      res.end(list('1', ['a']));
    });
    cleanups.push(() => closeServer(api.server));
    const { inf } = informer(api.kc, { minListIntervalMs: 400 });
    await inf.start();
    await sleep(1300);
    assert.ok(api.counts.watches >= 3, `watch retried: ${api.counts.watches}`);
    // 1300 ms at one LIST per 400 ms at most: no more than 4.
    assert.ok(api.counts.lists <= 4, `lists: ${api.counts.lists}`);
  });

  test('410 Gone relists, through the rate limit', async () => {
    let watch = 0;
    const api = await fakeApi((req, res) => {
      if (req.url?.includes('watch=true')) {
        watch++;
        res.writeHead(200, { 'content-type': 'application/json' });
        if (watch === 1)
          res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410 } })}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(list(String(api.counts.lists), api.counts.lists > 1 ? ['a', 'c'] : ['a']));
    });
    cleanups.push(() => closeServer(api.server));
    const { inf, seen } = informer(api.kc, { minListIntervalMs: 300 });
    const started = Date.now();
    await inf.start();
    await sleep(1500);
    assert.equal(api.counts.lists, 2, 'one relist after 410');
    assert.ok(seen.includes('add c'), `relist delivered new objects: ${seen.join(', ')}`);
    assert.ok(Date.now() - started >= 300);
  });

  test('a silent stream is restarted by the watchdog', async () => {
    const api = await fakeApi((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('watch=true')) {
        res.flushHeaders(); // open, and silent forever
        return;
      }
      res.end(list('1', ['a']));
    });
    cleanups.push(() => closeServer(api.server));
    const { inf } = informer(api.kc, { watchdogMs: 300 });
    await inf.start();
    // Polled rather than one fixed sleep: on a loaded machine the restart's timers run late.
    for (let i = 0; i < 100 && api.counts.watches < 2; i++) await sleep(100);
    assert.ok(api.counts.watches >= 2, `watches: ${api.counts.watches}`);
  });

  test('stop() is final: no request after it, even though it aborts the watch', async () => {
    const api = await fakeApi((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('watch=true')) {
        res.flushHeaders();
        return;
      }
      res.end(list('1', ['a']));
    });
    cleanups.push(() => closeServer(api.server));
    const { inf } = informer(api.kc);
    await inf.start();
    await sleep(50);
    await inf.stop();
    const before = { ...api.counts };
    await sleep(800);
    assert.deepEqual(api.counts, before);
    assert.equal(inf.isSynced, false);
  });

  test('transform: listed and watched objects are stored transformed; update and delete still work by key', async () => {
    const full = (name: string, rv: string, team: string) => ({
      metadata: {
        name,
        resourceVersion: rv,
        labels: { team },
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } }],
      },
      spec: { finalizers: ['kubernetes'] },
    });
    const api = await fakeApi((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('watch=true')) {
        const events = [
          { type: 'ADDED', object: full('b', '2', 'blue') },
          { type: 'MODIFIED', object: full('a', '3', 'green') },
          {
            type: 'BOOKMARK',
            object: { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: '3' } },
          },
          { type: 'DELETED', object: full('b', '4', 'blue') },
        ];
        res.write(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
        return; // keep the stream open
      }
      res.end(
        JSON.stringify({
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items: [full('a', '1', 'red')],
        }),
      );
    });
    cleanups.push(() => closeServer(api.server));
    const transformed: string[] = [];
    const { inf, seen } = informer(api.kc, {
      transform: (o) => {
        transformed.push(`${o.metadata?.name}@${o.metadata?.resourceVersion}`);
        return {
          metadata: {
            ...(o.metadata?.name !== undefined ? { name: o.metadata.name } : {}),
            ...(o.metadata?.resourceVersion !== undefined
              ? { resourceVersion: o.metadata.resourceVersion }
              : {}),
            ...(o.metadata?.labels !== undefined ? { labels: o.metadata.labels } : {}),
          },
        };
      },
    });
    await inf.start();
    await sleep(150);
    assert.deepEqual(seen, ['add a', 'add b', 'update a', 'delete b']);
    // The bookmark is not an object: never transformed.
    assert.deepEqual(transformed, ['a@1', 'b@2', 'a@3', 'b@4']);
    assert.deepEqual(inf.list(), [
      { metadata: { name: 'a', resourceVersion: '3', labels: { team: 'green' } } },
    ]);
  });
});
