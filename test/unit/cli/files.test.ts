import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readManifestSources, STDIN_NAME } from '../../../src/cli/files.ts';
import { parseManifests } from '../../../src/model/manifests.ts';

const TREE = fileURLToPath(new URL('../../fixtures/manifests/tree', import.meta.url));

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe('readManifestSources', () => {
  it('walks a folder recursively in sorted order, reading only .yaml, .yml and .json files', async () => {
    const r = await readManifestSources([TREE]);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.sources.map((s) => s.file.slice(TREE.length + 1)),
      ['a.yaml', 'b.yml', 'c.json', 'sub/d.yaml', 'sub/deeper/e.yaml'],
    );
  });

  it('skips hidden folders and node_modules', async () => {
    const r = await readManifestSources([TREE]);
    assert.ok(!r.sources.some((s) => s.file.includes('.hidden') || s.file.includes('node_modules')));
  });

  it('gives the loader everything it needs to load the tree', async () => {
    const read = await readManifestSources([TREE]);
    const r = parseManifests(read.sources);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.pods.map((p) => p.ref.name),
      ['deployment-web', 'client'],
    );
    assert.deepEqual(
      r.policies.map((p) => p.ref.name),
      ['default-deny', 'allow-client'],
    );
    assert.deepEqual(r.skipped, { Service: 1 });
  });

  it('reads a file named explicitly whatever its extension', async () => {
    const r = await readManifestSources([join(TREE, 'notes.txt')]);
    assert.deepEqual(r.issues, []);
    assert.equal(r.sources.length, 1);
  });

  it('reads a file reached twice only once', async () => {
    const r = await readManifestSources([join(TREE, 'a.yaml'), TREE]);
    assert.equal(r.sources.filter((s) => s.file.endsWith('a.yaml')).length, 1);
    assert.equal(r.sources[0]?.file, join(TREE, 'a.yaml'));
  });

  it('reports a path that cannot be read with the OS error and goes on', async () => {
    const missing = join(TREE, 'does-not-exist.yaml');
    const r = await readManifestSources([missing, join(TREE, 'a.yaml')]);
    assert.equal(r.sources.length, 1);
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]?.file, missing);
    assert.equal(r.issues[0]?.severity, 'error');
    assert.match(r.issues[0]!.message, /ENOENT/);
  });

  it('warns about a folder without manifests', async () => {
    const r = await readManifestSources([join(TREE, 'empty-of-manifests')]);
    assert.deepEqual(r.sources, []);
    assert.equal(r.issues[0]?.severity, 'warning');
  });

  it('reads - from stdin', async () => {
    const r = await readManifestSources(['-'], {
      stdin: chunks('apiVersion: v1\n', 'kind: Namespace\nmetadata: {name: x}\n'),
    });
    assert.deepEqual(r.sources, [
      { file: STDIN_NAME, text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n' },
    ]);
  });

  it('drops a byte order mark', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netaudit-files-'));
    try {
      await writeFile(join(dir, 'bom.yaml'), '\uFEFFapiVersion: v1\n');
      const r = await readManifestSources([dir]);
      assert.equal(r.sources[0]?.text, 'apiVersion: v1\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
