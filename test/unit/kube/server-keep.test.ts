import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideServers, type KnownServer, serverSpecHash } from '../../../src/kube/server-keep.ts';
import type { ServerSpec } from '../../../src/probe/runner.ts';

const NOW = 1_000_000_000;
const MIN = 600_000;

function spec(classId: string, node: string, namespace = 'shop', port = 80): ServerSpec {
  return {
    key: `netaudit-srv-${classId}-n0`,
    classId,
    namespace,
    node,
    labels: { app: classId },
    containerPorts: [{ name: undefined, port, protocol: 'TCP' }],
    listen: [{ port, protocol: 'TCP' }],
  };
}

// Hashes are written out by hand here: what makes two servers interchangeable is the test's own
// statement, not the production hash.
const HASH: Record<string, string> = {};
const hashOf = (s: ServerSpec): string => HASH[`${s.namespace}/${s.classId}/${s.node}`] ?? 'h-current';

function known(
  name: string,
  s: ServerSpec,
  over: Partial<Omit<KnownServer, 'name' | 'namespace' | 'classId' | 'node'>> = {},
): KnownServer {
  return {
    namespace: s.namespace,
    name,
    classId: s.classId,
    node: s.node,
    specHash: 'h-current',
    state: 'running',
    expiresAt: NOW + 3_000_000,
    createdAt: NOW - 60_000,
    ...over,
  };
}

const decide = (desired: ServerSpec[], list: KnownServer[], owns = (_: string) => true) =>
  decideServers({ desired, known: list, hashOf, now: NOW, minRemainingMs: MIN, owns });

const names = (xs: readonly { name: string }[]): string[] => xs.map((x) => x.name).sort();

describe('server probe pods kept across rounds', () => {
  test('a running server with life left is probed again; nothing is created or deleted', () => {
    const a = spec('web', 'n1');
    const d = decide([a], [known('srv-web-1', a)]);
    assert.deepEqual(
      d.reuse.map((r) => r.server.name),
      ['srv-web-1'],
    );
    assert.deepEqual(d.create, []);
    assert.deepEqual(d.remove, []);
  });

  test('a first round creates every server', () => {
    const d = decide([spec('web', 'n1'), spec('web', 'n2')], []);
    assert.deepEqual(
      d.create.map((s) => s.node),
      ['n1', 'n2'],
    );
    assert.equal(d.reuse.length, 0);
  });

  test('a server whose spec changed (ports, labels) is replaced and the old one deleted', () => {
    const a = spec('web', 'n1');
    const d = decide([a], [known('srv-web-old', a, { specHash: 'h-before' })]);
    assert.deepEqual(d.create, [a]);
    assert.deepEqual(names(d.remove), ['srv-web-old']);
  });

  test('a server too close to its deadline is replaced; one with just enough life is kept', () => {
    const a = spec('web', 'n1');
    const b = spec('api', 'n1');
    const d = decide(
      [a, b],
      [
        known('srv-web-dying', a, { expiresAt: NOW + MIN - 1 }),
        known('srv-api-enough', b, { expiresAt: NOW + MIN }),
      ],
    );
    assert.deepEqual(d.create, [a]);
    assert.deepEqual(names(d.remove), ['srv-web-dying']);
    assert.deepEqual(
      d.reuse.map((r) => r.server.name),
      ['srv-api-enough'],
    );
  });

  test('the newest of two running servers is kept, the other deleted', () => {
    const a = spec('web', 'n1');
    const d = decide(
      [a],
      [known('older', a, { createdAt: NOW - 100_000 }), known('newer', a, { createdAt: NOW - 10_000 })],
    );
    assert.deepEqual(
      d.reuse.map((r) => r.server.name),
      ['newer'],
    );
    assert.deepEqual(names(d.remove), ['older']);
  });

  test('a server still starting (an earlier run made it) is awaited, not made twice', () => {
    const a = spec('web', 'n1');
    const d = decide([a], [known('starting', a, { state: 'pending' })]);
    assert.deepEqual(
      d.await.map((w) => w.server.name),
      ['starting'],
    );
    assert.deepEqual(d.create, []);
    assert.deepEqual(d.remove, []);
  });

  test('a failed server is deleted and made again', () => {
    const a = spec('web', 'n1');
    const d = decide([a], [known('broken', a, { state: 'failed' })]);
    assert.deepEqual(d.create, [a]);
    assert.deepEqual(names(d.remove), ['broken']);
  });

  test('servers of classes or nodes no longer planned go, only in namespaces this run owns', () => {
    const gone = spec('old', 'n1', 'shop');
    const canary = spec('canary-a', 'n1', 'netaudit-canary');
    const d = decide([], [known('gone', gone), known('canary', canary)], (ns) => ns !== 'netaudit-canary');
    assert.deepEqual(names(d.remove), ['gone']);
  });

  test('a pod being deleted is neither used nor deleted again', () => {
    const a = spec('web', 'n1');
    const d = decide([a], [known('leaving', a, { state: 'deleting' })]);
    assert.deepEqual(d.create, [a]);
    assert.deepEqual(d.remove, []);
  });

  test('a server on another node does not stand for this node', () => {
    const a = spec('web', 'n1');
    const d = decide([a], [known('elsewhere', spec('web', 'n2'))]);
    assert.deepEqual(d.create, [a]);
    assert.deepEqual(names(d.remove), ['elsewhere']);
  });
});

describe('serverSpecHash', () => {
  const base = spec('web', 'n1');
  const h = serverSpecHash(base, 'img:1');
  test('the same spec with labels in another order hashes the same', () => {
    assert.equal(
      serverSpecHash({ ...base, labels: { b: '2', a: '1' } }, 'img:1'),
      serverSpecHash({ ...base, labels: { a: '1', b: '2' } }, 'img:1'),
    );
  });
  test('node, labels, ports, named ports and image each change it', () => {
    const variants = [
      serverSpecHash({ ...base, node: 'n2' }, 'img:1'),
      serverSpecHash({ ...base, labels: { app: 'other' } }, 'img:1'),
      serverSpecHash({ ...base, listen: [{ port: 81, protocol: 'TCP' }] }, 'img:1'),
      serverSpecHash({ ...base, containerPorts: [{ name: 'http', port: 80, protocol: 'TCP' }] }, 'img:1'),
      serverSpecHash(base, 'img:2'),
    ];
    for (const v of variants) assert.notEqual(v, h);
    assert.equal(new Set(variants).size, variants.length);
  });
  test('fits a label value (at most 63 characters of [a-z0-9])', () => {
    assert.match(h, /^[0-9a-f]{1,63}$/);
  });
});
