// The controller's cluster cache against a scripted API server on loopback: the first LISTs build
// the engine in one load (no change reported for them), probe pods are never asked for, a missing
// ClusterNetworkPolicy CRD means none, and a watched Pod reaches the engine and the listener.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { ClusterCache, type ObjectKind } from '../../../src/controller/cluster-cache.ts';
import type { Change } from '../../../src/expect/engine.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { Metrics } from '../../../src/report/metrics.ts';
import { loopbackApi } from '../../support/loopback-api.ts';

const pod = (name: string, app: string, rv: string) => ({
  metadata: {
    name,
    namespace: 'shop',
    labels: { app },
    resourceVersion: rv,
    managedFields: [{ manager: 'x' }],
  },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: '198.18.0.10', podIPs: [{ ip: '198.18.0.10' }] },
});

const LISTS: Record<string, unknown> = {
  '/api/v1/namespaces': {
    kind: 'NamespaceList',
    items: [{ metadata: { name: 'shop', labels: { team: 'a' }, resourceVersion: '1' } }],
  },
  '/api/v1/pods': { kind: 'PodList', items: [pod('web-0', 'web', '1')] },
  '/apis/networking.k8s.io/v1/networkpolicies': {
    kind: 'NetworkPolicyList',
    items: [
      {
        metadata: { name: 'deny', namespace: 'shop', resourceVersion: '1' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    ],
  },
};

describe('ClusterCache', async () => {
  const asked: string[] = [];
  const podWatches: ServerResponse[] = [];
  const { kc, close } = await loopbackApi((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    asked.push(`${url.pathname}?${url.searchParams.get('labelSelector') ?? ''}`);
    const list = LISTS[url.pathname];
    if (!list) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          code: 404,
          reason: 'NotFound',
          message: 'the server could not find the requested resource',
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch') === 'true') {
      res.flushHeaders();
      if (url.pathname === '/api/v1/pods') podWatches.push(res);
      return; // keep the stream open
    }
    res.end(JSON.stringify({ apiVersion: 'v1', metadata: { resourceVersion: '1' }, ...(list as object) }));
  });
  const changes: { kind: ObjectKind; change: Change }[] = [];
  let before = 0;
  const cache = new ClusterCache(
    kc,
    {
      profile: PROFILES.generic,
      engine: { externals: [] },
      canaryNamespace: 'netaudit-canary',
      logger: pino({ level: 'silent' }),
      metrics: new Metrics({ processMetrics: false }),
    },
    { beforeChange: () => before++, afterChange: (kind, change) => changes.push({ kind, change }) },
  );
  after(async () => {
    await cache.stop();
    await close();
  });

  test('the first LISTs build the engine in one load, with the canary beside the cluster', async () => {
    await cache.start();
    assert.equal(cache.synced, true);
    assert.deepEqual(changes, [], 'the initial load reports no change');
    assert.equal(before, 0);
    const pods = cache.engine.classes().flatMap((c) => c.members.map((m) => m.key as string));
    assert.ok(pods.includes('shop/web-0'), `engine pods: ${pods.join(', ')}`);
    assert.ok(
      pods.some((p) => p.startsWith('netaudit-canary/')),
      "the canary's stand-in pods are planned like any class",
    );
    assert.deepEqual(cache.namespaceNames(), ['shop']);
  });

  test('probe pods are never listed or watched; no ClusterNetworkPolicy CRD means none', () => {
    const podRequests = asked.filter((a) => a.startsWith('/api/v1/pods?'));
    assert.ok(podRequests.length >= 1);
    for (const r of podRequests) assert.equal(r, '/api/v1/pods?!netaudit.io/probe');
    assert.ok(
      asked.some((a) => a.includes('clusternetworkpolicies')),
      'the CRD was looked for',
    );
    assert.deepEqual(cache.objects().clusterPolicies, []);
  });

  test('a watched Pod reaches the engine and the listener, which reads verdicts before it', async () => {
    const watch = podWatches.at(-1);
    assert.ok(watch, 'a pod watch is open');
    watch.write(`${JSON.stringify({ type: 'ADDED', object: pod('db-0', 'db', '2') })}\n`);
    for (let i = 0; i < 50 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.kind, 'pod');
    // No policy reads `app`: db-0 behaves as web-0 does, so it joins web-0's class.
    assert.deepEqual(changes[0]?.change.classesAdded, []);
    assert.equal(before, 1);
    const cached = cache.objects().pods.find((p) => p.metadata.name === 'db-0');
    assert.ok(cached, 'db-0 is cached');
    const classOf = (key: string) =>
      cache.engine.classes().find((c) => c.members.some((m) => (m.key as string) === key))?.id;
    assert.ok(classOf('shop/db-0'));
    assert.equal(classOf('shop/db-0'), classOf('shop/web-0'));
  });
});
