// Reading a second input with the items of a first one remembered (what `analyze --base` does)
// must give exactly what reading it alone gives: the same objects, issues, lines and skips.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ReadManifests, readManifests } from '../../../src/cli/read-manifests.ts';
import { ItemMemo } from '../../../src/model/item-memo.ts';

const pod = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'x', labels },
  spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] },
  status: { podIP: '10.0.0.1' },
});
const policy = (name: string, from: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'x' },
  spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: from } } }] }] },
});

// Items both files share (some with warnings, one without its own kind, a Service, a nested
// List, a duplicate) and items that differ, in a different order in each file.
const shared = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } },
  pod('a', { app: 'a' }),
  // A warning: its place is the file's own.
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'w', labels: { 'kubernetes.io/metadata.name': 'v' } },
  },
  { apiVersion: 'v1', metadata: { name: 'nokind', namespace: 'x' } }, // read with the List's kind
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'x' } },
  { apiVersion: 'v1', kind: 'List', items: [pod('inner', { app: 'inner' })] },
  policy('p', 'a'),
  pod('dup', { app: 'd' }),
  pod('dup', { app: 'd' }),
  pod('bad', { 'bad label!': 'x' }),
];
const head = {
  apiVersion: 'v1',
  kind: 'PodList',
  items: [...shared, policy('q', 'b'), pod('b', { app: 'b' })],
};
const base = {
  apiVersion: 'v1',
  items: [pod('c', { app: 'c' }), ...[...shared].reverse(), policy('q', 'c')],
  kind: 'PodList', // after the items, as kubectl writes it
};

/** Everything a reader of the result sees, with lines resolved. */
function seen(r: ReadManifests) {
  const objects = [...r.load.namespaces, ...r.load.pods, ...r.load.policies];
  return {
    issues: [...r.issues, ...r.load.issues],
    skipped: r.load.skipped,
    objects: objects.map((o) => ({
      ref: o.ref,
      source: o.source,
      object: o.object,
      line: r.load.locate(o.ref, 'metadata.name'),
    })),
  };
}

describe('reading with a memo of another input', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netaudit-memo-'));
    await writeFile(join(dir, 'head.json'), JSON.stringify(head, null, 2));
    await writeFile(join(dir, 'base.json'), JSON.stringify(base, null, 2));
  });
  after(async () => {
    await rm(dir, { recursive: true });
  });

  it('gives what reading the input alone gives, and reuses the unchanged items', async () => {
    const alone = await readManifests([join(dir, 'base.json')]);
    const memo = new ItemMemo();
    await readManifests([join(dir, 'head.json')], { memo });
    // Kept: the namespace x, a, the Service, p, dup (once: same text), and the head's q and b; not
    // the namespace with a warning, the pod without kind, the nested List or the pod with an error.
    assert.equal(memo.size, 7);
    const withMemo = await readManifests([join(dir, 'base.json')], { memo });
    assert.deepEqual(seen(withMemo), seen(alone));
    assert.ok(
      alone.load.issues.some((i) => i.severity === 'warning'),
      'the fixture has a warning',
    );
    assert.ok(alone.load.issues.length >= 3, 'the fixture has issues to compare');
    assert.deepEqual(alone.load.pods.map((p) => p.ref.name).sort(), ['a', 'c', 'dup', 'inner']);
  });

  it('keeps no more text than it is given room for', async () => {
    const memo = new ItemMemo(10);
    await readManifests([join(dir, 'head.json')], { memo });
    assert.equal(memo.size, 0);
  });
});
