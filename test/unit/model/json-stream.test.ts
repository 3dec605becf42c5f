import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type JsonPiece, JsonSplitter } from '../../../src/model/json-split.ts';
import { JsonStreamReader } from '../../../src/model/json-stream.ts';
import { ManifestLoader } from '../../../src/model/manifest-loader.ts';

function split(text: string, chunk = text.length || 1): JsonPiece[] {
  const bytes = new TextEncoder().encode(text);
  const s = new JsonSplitter();
  const out: JsonPiece[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...s.push(bytes.subarray(i, i + chunk)));
  out.push(...s.end());
  return out;
}

function brief(p: JsonPiece): string {
  if (p.type === 'error') return `error@${p.line}: ${p.message}`;
  if (p.type === 'item') return `item ${p.document}/${p.index}@${p.line}: ${p.text}`;
  return `doc ${p.document}@${p.line}: ${p.text}`;
}

function read(text: string, chunk = 7) {
  const loader = new ManifestLoader();
  const bytes = new TextEncoder().encode(text);
  const r = new JsonStreamReader(loader, 'l.json', (o, n) =>
    new TextDecoder().decode(bytes.subarray(o, o + n)),
  );
  for (let i = 0; i < bytes.length; i += chunk) r.push(bytes.subarray(i, i + chunk));
  r.end();
  return loader.finish();
}

const LIST = `{
  "apiVersion": "v1",
  "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
    {
      "apiVersion": "networking.k8s.io/v1",
      "kind": "NetworkPolicy",
      "metadata": {"name": "np", "namespace": "a", "annotations": {"x": "]}\\"{["}},
      "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}
    }
  ],
  "kind": "List",
  "metadata": {"resourceVersion": ""}
}
`;

describe('JsonSplitter', () => {
  it('cuts the items of a List out of it, each with its line, whatever the chunk size', () => {
    const expected = [
      'item 0/0@4: {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}',
      `item 0/1@5: ${LIST.slice(LIST.indexOf('{\n      "apiVersion": "networking'), LIST.indexOf('}\n  ],') + 1)}`,
      'doc 0@1: {\n  "apiVersion": "v1",\n  "items": [],\n  "kind": "List",\n  "metadata": {"resourceVersion": ""}\n}',
    ];
    for (const chunk of [1, 2, 3, 5, 16, 1000])
      assert.deepEqual(split(LIST, chunk).map(brief), expected, `chunk ${chunk}`);
  });

  it('reads concatenated documents one by one, scalars included', () => {
    assert.deepEqual(split('{"a": 1}\n{"b": [1, {"c": "}"}]}\n 42 "x" true').map(brief), [
      'doc 0@1: {"a": 1}',
      'doc 1@2: {"b": [1, {"c": "}"}]}',
      'doc 2@3: 42',
      'doc 3@3: "x"',
      'doc 4@3: true',
    ]);
  });

  it('splits only the items array of the top-level object, not nested ones or other arrays', () => {
    assert.deepEqual(
      split('{"spec": {"items": [1, 2]}, "x": ["items"], "items": [1, "a,]", [3]]}', 4).map(brief),
      [
        'item 0/0@1: 1',
        'item 0/1@1: "a,]"',
        'item 0/2@1: [3]',
        'doc 0@1: {"spec": {"items": [1, 2]}, "x": ["items"], "items": []}',
      ],
    );
  });

  it('names the line where an unclosed bracket or string opened', () => {
    assert.deepEqual(split('{\n "items": [\n  {"a": 1},\n  {"b": [\n\n').map(brief), [
      'item 0/0@3: {"a": 1}',
      'error@4: JSON syntax error: the "[" opened on line 4 is never closed',
    ]);
    assert.deepEqual(split('{\n "a": "open\n}\n').map(brief), [
      'error@2: JSON syntax error: the string opened on line 2 is never closed',
    ]);
  });

  it('reports a closing bracket that closes nothing, and stops', () => {
    assert.deepEqual(split('{"a": 1}}\n{"b": 2}').map(brief), [
      'doc 0@1: {"a": 1}',
      'error@1: JSON syntax error: unexpected "}" between documents',
    ]);
  });

  it('counts escaped backslashes before a quote', () => {
    assert.deepEqual(split('{"a": "x\\\\", "items": ["\\"", "\\\\\\""]}', 3).map(brief), [
      'item 0/0@1: "\\""',
      'item 0/1@1: "\\\\\\""',
      'doc 0@1: {"a": "x\\\\", "items": []}',
    ]);
  });
});

describe('JsonStreamReader', () => {
  it('loads a List whose kind comes after its items, with lines inside items', () => {
    const r = read(LIST);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.namespaces.map((n) => n.ref.name),
      ['a'],
    );
    assert.deepEqual(
      r.policies.map((p) => p.source),
      [{ file: 'l.json', line: 5, documentIndex: 0 }],
    );
    assert.deepEqual(r.locate({ kind: 'NetworkPolicy', namespace: 'a', name: 'np' }, 'spec.policyTypes'), {
      file: 'l.json',
      line: 9,
    });
  });

  it('gives kind-less items of a typed list their kind, before or after the items', () => {
    const item = '{"metadata": {"name": "p", "namespace": "a"}, "spec": {"containers": [{"name": "c"}]}}';
    for (const text of [
      `{"kind": "PodList", "apiVersion": "v1", "items": [${item}]}`,
      `{"items": [${item}], "kind": "PodList", "apiVersion": "v1"}`,
    ]) {
      const r = read(text, 5);
      assert.deepEqual(
        r.issues.filter((i) => i.severity === 'error'),
        [],
      );
      assert.deepEqual(
        r.pods.map((p) => p.ref.name),
        ['p'],
      );
    }
  });

  it('does not read the items of an object that is not a list', () => {
    const r = read('{"kind": "Widget", "apiVersion": "example.com/v1", "items": [{"kind": "Pod"}]}');
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.skipped, { Widget: 1 });
    const late = read(
      '{"items": [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "x"}}], "kind": "Widget", "apiVersion": "example.com/v1"}',
    );
    assert.deepEqual(late.namespaces, []);
    assert.deepEqual(late.skipped, { Widget: 1 });
  });

  it('reports a syntax error inside one item at its line and loads the other items', () => {
    const r = read(
      '{"kind": "List", "items": [\n{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "a"}},\n{"kind": "Namespace",\n "x": tru}\n]}',
    );
    assert.deepEqual(
      r.namespaces.map((n) => n.ref.name),
      ['a'],
    );
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]?.line, 4);
    assert.match(r.issues[0]?.message ?? '', /^JSON syntax error/);
  });

  it('reads concatenated JSON objects one by one, as kubectl does', () => {
    const r = read(
      '{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "a"}}\n{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "b"}}',
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.namespaces.map((n) => [n.ref.name, n.source.line, n.source.documentIndex]),
      [
        ['a', 1, 0],
        ['b', 2, 1],
      ],
    );
  });
});

describe('hostile nesting', () => {
  it('reports an object nested 100,000 levels deep as an error instead of exhausting the stack', () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const r = read(
      `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"a"},"spec":{"podSelector":{},"x":${deep}}}`,
      1 << 16,
    );
    assert.equal(r.policies.length, 0);
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]?.field, 'spec.x.a.a.a.a.a.a');
    assert.match(r.issues[0]?.message ?? '', /nested more than 64 levels deep/);
  });
});
