import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifests } from '../../../src/model/manifests.ts';
import { extractFlatMaps } from '../../../src/model/yaml-flat-maps.ts';

const N = 300;

/** `count` lines `<indent>label-i: value-i`, with `line(i)` replacing some. */
function entries(count: number, indent: string, line?: (i: number) => string | undefined): string {
  return Array.from({ length: count }, (_, i) => `${indent}${line?.(i) ?? `label-${i}: value-${i}`}\n`).join(
    '',
  );
}

function labels(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`label-${i}`, `value-${i}`]));
}

const POD_HEAD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: default\n  labels:\n';
const POD_TAIL = 'spec:\n  containers:\n  - name: c\n    image: x\n    ports:\n    - containerPort: 80\n';

describe('extractFlatMaps', () => {
  it('cuts a large map of plain strings out, with its path and the line of each key', () => {
    const text = `${POD_HEAD}${entries(N, '    ')}${POD_TAIL}`;
    const { text: cut, maps } = extractFlatMaps(text);
    assert.equal(maps.length, 1);
    assert.deepEqual(maps[0]?.path, ['metadata', 'labels']);
    assert.deepEqual(maps[0]?.value, labels(N));
    assert.equal(maps[0]?.lines.get('label-0'), 6);
    assert.equal(maps[0]?.lines.get(`label-${N - 1}`), 6 + N - 1);
    const lines = cut.split('\n');
    assert.equal(lines.length, text.split('\n').length, 'every line stays where it was');
    assert.equal(lines[5], '  labels: {}');
    assert.equal(lines[6], '');
  });

  it('reads quoted keys and values without escapes as the strings they hold', () => {
    const text = `${POD_HEAD}${entries(N, '    ', (i) => (i === 3 ? `"a b": 'yes'` : undefined))}`;
    assert.equal(extractFlatMaps(text).maps[0]?.value['a b'], 'yes');
  });

  const leftWhole: [string, string][] = [
    ['a small map', `${POD_HEAD}${entries(10, '    ')}${POD_TAIL}`],
    [
      'a value YAML 1.1 reads as a boolean',
      `${POD_HEAD}${entries(N, '    ', (i) => (i === 7 ? 'on: x' : i === 8 ? 'x: yes' : undefined))}`,
    ],
    ['a number', `${POD_HEAD}${entries(N, '    ', (i) => (i === 7 ? 'x: 0100' : undefined))}`],
    [
      'a comment after a value',
      `${POD_HEAD}${entries(N, '    ', (i) => (i === 7 ? 'x: y # c' : undefined))}`,
    ],
    ['an escape', `${POD_HEAD}${entries(N, '    ', (i) => (i === 7 ? 'x: "a\\tb"' : undefined))}`],
    ['a nested map', `${POD_HEAD}${entries(N, '    ', (i) => (i === 7 ? 'x:\n      y: z' : undefined))}`],
    ['a map inside a sequence item', `items:\n- metadata:\n    labels:\n${entries(N, '      ')}`],
    ['map-like lines inside a block scalar', `data:\n  script: |\n    labels:\n${entries(N, '      ')}`],
    ['a quoted value left open above', `a: "open\nlabels:\n${entries(N, '  ')}"\n`],
    ['an anchor', `a: &x\n  b: c\nlabels:\n${entries(N, '  ')}`],
    ['tabs in indentation', `a:\n\tb: c\nlabels:\n${entries(N, '  ')}`],
  ];
  for (const [title, text] of leftWhole) {
    it(`leaves the text whole for ${title}`, () => {
      const r = extractFlatMaps(text);
      assert.deepEqual(r.maps, []);
      assert.equal(r.text, text);
    });
  }
});

describe('a pod with a large flat map of labels', () => {
  it('is read as the YAML library reads it', () => {
    const load = parseManifests([{ file: 'p.yaml', text: `${POD_HEAD}${entries(N, '    ')}${POD_TAIL}` }]);
    assert.deepEqual(load.issues, []);
    assert.deepEqual(load.pods[0]?.object.metadata.labels, labels(N));
    assert.equal(load.pods[0]?.object.spec.containers[0]?.ports?.[0]?.containerPort, 80);
  });

  it('reports an invalid label value at its own line', () => {
    const bad = 'x'.repeat(64);
    const text = `${POD_HEAD}${entries(N, '    ', (i) => (i === 100 ? `label-100: ${bad}` : undefined))}${POD_TAIL}`;
    const load = parseManifests([{ file: 'p.yaml', text }]);
    assert.equal(load.pods.length, 0);
    assert.deepEqual(
      load.issues.map((i) => [i.line, i.field]),
      [[107, 'metadata.labels.label-100']],
    );
  });

  it('reports a label written twice at the line of the repeat and skips the document', () => {
    const text = `${POD_HEAD}${entries(N, '    ', (i) => (i === 200 ? 'label-3: again' : undefined))}${POD_TAIL}`;
    const load = parseManifests([{ file: 'p.yaml', text }]);
    assert.equal(load.pods.length, 0);
    assert.deepEqual(
      load.issues.map((i) => [i.severity, i.line]),
      [['error', 207]],
    );
    assert.match(load.issues[0]?.message ?? '', /"label-3" appears twice/);
  });

  it('reads a label YAML 1.1 makes a boolean as the API server does (through the library)', () => {
    const text = `${POD_HEAD}${entries(N, '    ', (i) => (i === 5 ? 'flag: yes' : undefined))}${POD_TAIL}`;
    const load = parseManifests([{ file: 'p.yaml', text }]);
    assert.equal(load.pods.length, 0);
    assert.deepEqual(
      load.issues.map((i) => [i.line, i.field]),
      [[12, 'metadata.labels.flag']],
    );
  });
});
