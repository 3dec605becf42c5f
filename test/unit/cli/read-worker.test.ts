import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readManifests } from '../../../src/cli/read-manifests.ts';
import { decodeBatch, encodeBatch } from '../../../src/cli/split-batch.ts';
import type { SplitEvent } from '../../../src/model/json-stream.ts';
import { list, OBJECTS, outcome, POD } from '../model/json-list-fixtures.ts';

describe('a large JSON file split in a worker thread', () => {
  it('is read as it is in the main thread, lines and issues included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netaudit-worker-'));
    try {
      const many = Array.from({ length: 300 }, (_, i) => ({
        ...POD,
        metadata: { ...POD.metadata, name: `p-${i}`, labels: { app: `a${i % 7}` } },
      }));
      const file = join(dir, 'list.json');
      await writeFile(file, `\uFEFF${list([...OBJECTS, ...many])}`);
      const here = await readManifests([file], { workerMinBytes: Number.POSITIVE_INFINITY });
      const worker = await readManifests([file], { workerMinBytes: 0 });
      assert.deepEqual(outcome(worker.load), outcome(here.load));
      assert.deepEqual(worker.load.issues, here.load.issues);
      assert.deepEqual(
        worker.load.pods.map((p) => p.source),
        here.load.pods.map((p) => p.source),
      );
      const ref = { kind: 'Pod', namespace: 'a', name: 'p-299' };
      assert.deepEqual(worker.load.locate(ref, 'status.podIP'), here.load.locate(ref, 'status.podIP'));
      assert.equal(worker.load.pods.length, 302);
      // Not JSON, or missing: as before.
      await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: why\n');
      const yaml = await readManifests([join(dir, 'a.yaml')], { workerMinBytes: 0 });
      assert.deepEqual(
        yaml.load.namespaces.map((n) => n.ref.name),
        ['why'],
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('a batch of split events as the worker posts it', () => {
  it('gives back every kind of event as it was', () => {
    const events: SplitEvent[] = [
      { type: 'head', document: 0, field: 'kind', value: 'List' },
      {
        type: 'item',
        document: 0,
        index: 3,
        text: '{"a": "é"}',
        line: 7,
        offset: 3_000_000_000,
        bytes: 12,
        suspectKeys: true,
      },
      { type: 'item', document: 0, index: 4, text: '1', line: 8, offset: 12, bytes: 1, suspectKeys: false },
      { type: 'error', document: 1, line: 9, message: 'item 5 is too large to read' },
      { type: 'head', document: 1, field: 'apiVersion', value: 'v1' },
      {
        type: 'document',
        document: 1,
        text: '{"items": []}',
        line: 10,
        offset: 20,
        bytes: 40,
        hadItems: true,
        suspectKeys: false,
      },
      {
        type: 'document',
        document: 2,
        text: '2',
        line: 11,
        offset: 60,
        bytes: 1,
        hadItems: false,
        suspectKeys: true,
      },
    ];
    assert.deepEqual(decodeBatch(structuredClone(encodeBatch(events))), events);
  });
});
