import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findDuplicateKeys } from '../../../src/model/json-duplicates.ts';
import { type JsonPiece, JsonSplitter } from '../../../src/model/json-split.ts';
import { parseManifests } from '../../../src/model/manifests.ts';

/** Which pieces the splitter marks as maybe holding a key twice, as `item i` / `doc i`, for every chunk size. */
function suspects(text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  let first: string[] | undefined;
  for (let chunk = 1; chunk <= bytes.length; chunk++) {
    const s = new JsonSplitter();
    const pieces: JsonPiece[] = [];
    for (let i = 0; i < bytes.length; i += chunk) pieces.push(...s.push(bytes.subarray(i, i + chunk)));
    pieces.push(...s.end());
    const marked = pieces.flatMap((p) =>
      p.type === 'item' && p.suspectKeys
        ? [`item ${p.index}`]
        : p.type === 'document' && p.suspectKeys
          ? [`doc ${p.document}`]
          : [],
    );
    if (first === undefined) first = marked;
    else assert.deepEqual(marked, first, `chunk ${chunk}`);
  }
  return first ?? [];
}

describe('the splitter marks pieces that may hold a key twice', () => {
  const cases: [string, string, string[]][] = [
    ['distinct keys', '{"a": 1, "b": {"a": 2}}', []],
    ['a key twice at the top', '{"a": 1, "b": 2, "a": 3}', ['doc 0']],
    ['a key twice in a nested object', '{"a": {"x": 1, "x": 2}}', ['doc 0']],
    ['the same key in sibling objects', '{"l": [{"a": 1}, {"a": 2}], "m": {"a": 3}}', []],
    ['a nested key equal to a later key of its parent', '{"a": {"b": 1}, "b": 2}', []],
    ['a value equal to a key', '{"a": "b", "b": "a"}', []],
    ['a key that holds an escape', '{"\\u0061": 1}', ['doc 0']],
    ['a key that holds an escaped slash', '{"a\\/b": 1}', ['doc 0']],
    [
      'keys with escaped quotes (managedFields)',
      '{"k:{\\"type\\":\\"A\\"}": 1, "k:{\\"type\\":\\"B\\"}": 2}',
      [],
    ],
    ['a key with escaped quotes twice', '{"k:{\\"t\\"}": 1, "b": 2, "k:{\\"t\\"}": 3}', ['doc 0']],
    ['an escaped backslash before a u', '{"a\\\\u": 1, "b": 2}', []],
    ['a string value with an escape', '{"a": "\\"b\\""}', []],
    [
      'only the item holding the repeat',
      '{"items": [{"a": 1}, {"a": 1, "b": {"c": 1, "c": 1}}, {"a": 1}], "kind": "List", "kind": "List"}',
      ['item 1', 'doc 0'],
    ],
    [
      'many keys (past the one-by-one comparison), one repeated',
      `{${Array.from({ length: 40 }, (_, i) => `"k${i}": ${i}`).join(', ')}, "k7": 0}`,
      ['doc 0'],
    ],
    ['many distinct keys', `{${Array.from({ length: 40 }, (_, i) => `"k${i}": ${i}`).join(', ')}}`, []],
    ['concatenated documents', '{"a": 1} {"a": 1, "a": 2} {"a": 1}', ['doc 1']],
  ];
  for (const [title, text, expected] of cases) {
    it(title, () => {
      assert.deepEqual(suspects(text), expected);
    });
  }
});

describe('findDuplicateKeys', () => {
  it('gives the path and offset of every repeat, in text order', () => {
    const text = '{"a": 1, "b": [{"c": 1}, {"c": 1, "c": 2}], "a": {"d": [], "d": {}}, "a": 3}';
    assert.deepEqual(findDuplicateKeys(text), [
      { path: ['b', 1, 'c'], offset: text.indexOf('"c": 2') },
      { path: ['a'], offset: text.indexOf('"a": {') },
      { path: ['a', 'd'], offset: text.indexOf('"d": {}') },
      { path: ['a'], offset: text.indexOf('"a": 3') },
    ]);
  });

  it('compares keys as decoded, so an escaped key repeats its plain spelling', () => {
    assert.deepEqual(findDuplicateKeys('{"app": 1, "\\u0061pp": 2, "App": 3}'), [
      { path: ['app'], offset: 11 },
    ]);
  });

  it('is not misled by brackets, quotes and colons inside strings', () => {
    assert.deepEqual(findDuplicateKeys('{"a": "}\\",{\\"a\\": [", "b": "a", "c": ["a", "a"]}'), []);
  });
});

describe('JSON keys written twice', () => {
  const pod = (labels: string, extra = '') =>
    `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default",\n "labels": {${labels}}${extra}},\n "spec": {"containers": [{"name": "c", "image": "i"}]}}`;

  it('reports a repeat in a field netaudit reads with file, line, object and field, and skips the object', () => {
    const load = parseManifests([{ file: 'p.json', text: pod('"app": "a",\n"app": "b"') }]);
    assert.equal(load.pods.length, 0);
    assert.deepEqual(
      load.issues.map((i) => [i.severity, i.file, i.line, i.object, i.field]),
      [['error', 'p.json', 3, 'Pod default/web', 'metadata.labels.app']],
    );
    assert.match(load.issues[0]?.message ?? '', /"app" appears twice/);
  });

  it('does not look at repeats in fields netaudit does not read', () => {
    const load = parseManifests([
      { file: 'p.json', text: pod('"app": "a"', ', "annotations": {"x": "1", "x": "2"}') },
    ]);
    assert.deepEqual(load.issues, []);
    assert.deepEqual(load.pods[0]?.object.metadata.labels, { app: 'a' });
  });

  it('reports a repeat in an item of a streamed List whose kind comes after its items, and loads the others', () => {
    const text = `{"items": [\n${pod('"app": "a"')},\n{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "default"},\n "spec": {"podSelector": {"matchLabels": {"x": "1"}, "matchLabels": {}}}}\n], "kind": "List", "apiVersion": "v1"}`;
    const load = parseManifests([{ file: 'l.json', text }]);
    assert.deepEqual(
      load.pods.map((p) => p.ref.name),
      ['web'],
    );
    assert.equal(load.policies.length, 0);
    assert.deepEqual(
      load.issues.map((i) => [i.line, i.object, i.field]),
      [[6, 'NetworkPolicy default/np', 'spec.podSelector.matchLabels']],
    );
  });

  it('reports a key written three times once', () => {
    const load = parseManifests([{ file: 'p.json', text: pod('"a": "1", "a": "2", "a": "3"') }]);
    assert.deepEqual(
      load.issues.map((i) => i.field),
      ['metadata.labels.a'],
    );
  });
});
