import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STDIN_NAME } from '../../../src/cli/files.ts';
import { readManifests } from '../../../src/cli/read-manifests.ts';

const NS = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe('readManifests', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netaudit-read-'));
    await writeFile(join(dir, 'a.yaml'), NS('a'));
    await symlink(join(dir, 'a.yaml'), join(dir, 'link.yaml'));
    const list = {
      apiVersion: 'v1',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'np', namespace: 'b' },
          spec: { podSelector: {}, policyTypes: ['Ingress'] },
        },
      ],
      kind: 'List',
    };
    await writeFile(join(dir, 'list.json'), `\uFEFF${JSON.stringify(list, null, 4)}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true });
  });

  it('reads a file and a symlink to it once: no "defined twice"', async () => {
    const r = await readManifests([dir]);
    assert.deepEqual([...r.issues, ...r.load.issues], []);
    assert.deepEqual(
      r.load.namespaces.map((n) => n.ref.name),
      ['a', 'b'],
    );
  });

  it('streams a JSON List with a byte order mark and finds lines inside its items again from the file', async () => {
    const r = await readManifests([join(dir, 'list.json')]);
    assert.deepEqual(r.load.issues, []);
    assert.deepEqual(r.load.policies[0]?.source, {
      file: join(dir, 'list.json'),
      line: 11,
      documentIndex: 0,
    });
    assert.deepEqual(
      r.load.locate({ kind: 'NetworkPolicy', namespace: 'b', name: 'np' }, 'spec.policyTypes'),
      {
        file: join(dir, 'list.json'),
        line: 20,
      },
    );
  });

  it('reads JSON from stdin in chunks, and YAML from stdin whole', async () => {
    const json = await readManifests(['-'], {
      stdin: chunks(
        '  {"apiVersion": "v1", "kind": "Names',
        'pace", "metadata": {"name": "c"}}\n{"apiVersion": "v1",',
        ' "kind": "Namespace", "metadata": {"name": "d"}}',
      ),
    });
    assert.deepEqual(json.load.issues, []);
    assert.deepEqual(
      json.load.namespaces.map((n) => [n.ref.name, n.source.file, n.source.line]),
      [
        ['c', STDIN_NAME, 1],
        ['d', STDIN_NAME, 2],
      ],
    );
    const yaml = await readManifests(['-'], {
      stdin: chunks('apiVersion: v1\nkind: Name', 'space\nmetadata:\n  name: e\n'),
    });
    assert.deepEqual(
      yaml.load.namespaces.map((n) => n.ref.name),
      ['e'],
    );
  });

  it('reports a path that cannot be read and goes on', async () => {
    const r = await readManifests([join(dir, 'missing.yaml'), join(dir, 'a.yaml')]);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]?.message ?? '', /cannot read/);
    assert.deepEqual(
      r.load.namespaces.map((n) => n.ref.name),
      ['a'],
    );
  });
});
