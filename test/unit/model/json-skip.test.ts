import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { skipJsonValue } from '../../../src/model/json-skip.ts';
import { type JsonPiece, JsonSplitter } from '../../../src/model/json-split.ts';
import { JsonStreamReader, SPLIT_OPTIONS } from '../../../src/model/json-stream.ts';
import { type LoadResult, ManifestLoader } from '../../../src/model/manifest-loader.ts';
import { type Fields, fieldsForKind } from '../../../src/model/read-fields.ts';
import { list, OBJECTS, outcome, POD } from './json-list-fixtures.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

/** skipJsonValue on `text` followed by a space (the byte after a value must be in the buffer). */
function skip(text: string): number {
  const b = bytes(`${text} `);
  return skipJsonValue(b, 0, b.length);
}

/** An item's text as netaudit reads it: parsed, then reduced to the fields read for its kind. */
function projected(text: string): unknown {
  const keep = (v: unknown, f: Fields): unknown => {
    if (f === true) return v;
    if (Array.isArray(v)) return v.map((x) => keep(x, f));
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(f)
        .filter((k) => Object.hasOwn(o, k))
        .map((k) => [k, keep(o[k], f[k] as Fields)]),
    );
  };
  const v: unknown = JSON.parse(text);
  const kind = typeof v === 'object' && v !== null && 'kind' in v ? String(v.kind) : '';
  return keep(v, fieldsForKind(kind));
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A mulberry32 generator: the fuzz below is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readStream(text: string, chunk: number, fast = true): LoadResult {
  const loader = new ManifestLoader();
  const b = bytes(text);
  // fast: false, the splitter's scan alone, without its one-pass reading of whole items.
  const decode = (o: number, n: number) => new TextDecoder().decode(b.subarray(o, o + n));
  const r = new JsonStreamReader(loader, 'l.json', decode, undefined, { ...SPLIT_OPTIONS, fast });
  for (let i = 0; i < b.length; i += chunk) r.push(b.subarray(i, i + chunk));
  r.end();
  return loader.finish();
}

/** The independent expectation: JSON.parse of the whole text, then the loader's own checks. */
function readWhole(text: string): LoadResult {
  const loader = new ManifestLoader();
  loader.add(JSON.parse(text), { file: 'l.json', documentIndex: 0, line: () => 0 });
  return loader.finish();
}

describe('skipJsonValue', () => {
  it('accepts valid objects and arrays, and ends after their closing bracket', () => {
    for (const text of [
      '{}',
      '[]',
      '{"a": [1, -2, 3.5, 1e5, 0.1E-2, true, false, null, "s\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"]}',
      '[[], {}, [{}], {"": {"x": [[]]}}]',
      '{\n  "a": 1\r\n\t}',
    ])
      assert.equal(skip(text), bytes(text).length, text);
  });

  it('refuses what JSON.parse refuses', () => {
    for (const text of [
      '{"a" 1}',
      '{"a": 1,}',
      '[1,]',
      '[01]',
      '[1.]',
      '[-]',
      '[.5]',
      '[1e]',
      '[+1]',
      '[tru]',
      '[nul]',
      '["\\q"]',
      '["\\u12x4"]',
      '["a\tb"]',
      '["a\nb"]',
      '{"a": 1]',
      '[1}',
      "{'a': 1}",
      '{a: 1}',
      '[1 2]',
      '{"a": 1 "b": 2}',
      '[NaN]',
      '{"a": 1',
    ]) {
      assert.equal(parses(text), false, `JSON.parse accepts ${text}`);
      assert.equal(skip(text), -1, text);
    }
  });

  it('never accepts a value JSON.parse refuses (random one-byte edits of a pod)', () => {
    const text = JSON.stringify(POD, null, 2);
    const next = random(12);
    const alphabet = '{}[]",:\\ \n\t0123456789-+.eEtrufalsn\x01ax';
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      const at = Math.floor(next() * text.length);
      const c = alphabet[Math.floor(next() * alphabet.length)] as string;
      const edited =
        next() < 0.5 ? text.slice(0, at) + c + text.slice(at + 1) : text.slice(0, at) + c + text.slice(at);
      const b = bytes(`${edited} `);
      const end = skipJsonValue(b, 0, b.length);
      if (end < 0) continue;
      accepted++;
      const value = new TextDecoder().decode(b.subarray(0, end));
      assert.ok(parses(value), `accepted what JSON.parse refuses: ${JSON.stringify(value)}`);
      assert.equal(end === b.length - 1, parses(edited), 'the end is the end of the value');
    }
    assert.ok(accepted > 300, `${accepted} edits accepted`);
  });

  it('leaves a value running past the buffer, or nested too deep, to JSON.parse', () => {
    const b = bytes('{"a": [1, 2]}');
    assert.equal(skipJsonValue(b, 0, b.length - 1), -1);
    const deep = `${'['.repeat(300)}${']'.repeat(300)} `;
    assert.equal(skipJsonValue(bytes(deep), 0, deep.length), -1);
  });
});

describe('List items with the values of unread fields cut out', () => {
  const text = list(OBJECTS);

  it('are read as JSON.parse of the whole text and the loader would read them, whatever the chunks', () => {
    const expected = outcome(readWhole(text));
    for (const chunk of [1, 7, 64, 1000, text.length])
      for (const fast of [true, false])
        assert.deepEqual(outcome(readStream(text, chunk, fast)), expected, `chunk ${chunk}, fast ${fast}`);
  });

  it('keep the lines of what follows a cut value', () => {
    const r = readStream(text, text.length);
    const pod = r.pods.find((p) => p.ref.name === 'web-1');
    const at = (field: string) => r.locate({ kind: 'Pod', namespace: 'a', name: 'web-1' }, field)?.line;
    const lineOf = (needle: string, from: number) =>
      text.slice(0, text.indexOf(needle, from)).split('\n').length;
    const start = text.indexOf('"name": "web-1"') - 1;
    assert.ok(pod !== undefined);
    assert.equal(at('status.podIP'), lineOf('"podIP"', start));
    assert.equal(at('spec.nodeName'), lineOf('"nodeName"', start));
    // An issue inside the item, after several cuts: its line in the file.
    const bad = r.issues.find((i) => i.object === 'Pod a/web-2');
    assert.equal(bad?.line, lineOf('"bad label"', 0));
  });

  it('cut the same values with the one-pass reading as with the scan', () => {
    const b = bytes(text);
    const pieces = (fast: boolean): JsonPiece[] => {
      const s = new JsonSplitter(undefined, { fieldsFor: fieldsForKind, fast });
      return [...s.push(b), ...s.end()];
    };
    // The one pass drops an unread field after a comma with its key; the scan writes it empty. The
    // fields read, the lines and everything else are the same.
    const same = (list: JsonPiece[]) =>
      list.map((p) =>
        p.type === 'item' || p.type === 'document'
          ? { ...p, text: projected(p.text), lines: p.text.split('\n').length }
          : p,
      );
    const fast = pieces(true);
    assert.deepEqual(same(fast), same(pieces(false)));
    const pod = fast.find((p) => p.type === 'item' && p.text.includes('"web-1"'));
    assert.ok(pod?.type === 'item');
    assert.ok(!pod.text.includes('"managedFields"'), 'managedFields dropped, key and all');
    assert.ok(!pod.text.includes('"creationTimestamp"'), 'an unread string dropped, key and all');
    assert.ok(parses(pod.text));
    assert.ok(!pod.text.includes('kubelet'), 'managedFields cut');
    assert.ok(!pod.text.includes('2026-11-30'), 'timestamps cut');
    assert.ok(pod.text.includes('"podIP": "10.1.0.5"'), 'status.podIP kept');
    assert.equal(pod.text.split('\n').length, JSON.stringify(POD, null, 4).split('\n').length, 'lines kept');
  });

  it('are read alike by the one pass and the scan, lines of issues included, however the text is edited', () => {
    const next = random(34);
    const alphabet = '{}[]",:\\ \n0123456789-.truefalsn';
    const unedited = readStream(text, text.length).issues.length;
    let differs = 0;
    for (let k = 0; k < 300; k++) {
      let edited = text;
      for (let e = 0; e < 2; e++) {
        const at = Math.floor(next() * edited.length);
        const c = alphabet[Math.floor(next() * alphabet.length)] as string;
        edited =
          next() < 0.5
            ? edited.slice(0, at) + c + edited.slice(at + 1)
            : edited.slice(0, at) + c + edited.slice(at);
      }
      const seen = (fast: boolean) => {
        const r = readStream(edited, edited.length, fast);
        return { ...(outcome(r) as object), lines: r.issues.map((i) => [i.message, i.line]) };
      };
      const fast = seen(true);
      assert.deepEqual(fast, seen(false), `edit ${k}`);
      if (fast.lines.length !== unedited) differs++;
    }
    assert.ok(differs > 50, `${differs} edits changed what was read`);
  });

  it('report a syntax error inside a value netaudit does not read, at its line, and load the others', () => {
    const broken = text.replace('"manager": "kubelet"', '"manager": kubelet');
    const line = broken.slice(0, broken.indexOf('kubelet')).split('\n').length;
    for (const chunk of [5, broken.length]) {
      const r = readStream(broken, chunk);
      assert.deepEqual(
        r.issues.filter((i) => /syntax/.test(i.message)).map((i) => i.line),
        [line],
      );
      // web-2 has a bad label; the Deployment's pod is the other one loaded.
      assert.deepEqual(
        r.pods.map((p) => p.ref.name),
        ['deployment-d'],
      );
    }
  });

  it('report a key written twice in a field netaudit reads after a cut, not in a cut one', () => {
    const twice = text
      .replace('"tier": "front"', '"tier": "front", "app": "again"')
      .replace('"manager": "kubelet"', '"manager": "kubelet", "manager": "x"');
    const r = readStream(twice, twice.length);
    assert.deepEqual(
      r.issues.filter((i) => /twice/.test(i.message)).map((i) => [i.object, i.field, i.line]),
      [
        [
          'Pod a/web-1',
          'metadata.labels.app',
          twice.slice(0, twice.indexOf('"app": "again"')).split('\n').length,
        ],
      ],
    );
  });
});
