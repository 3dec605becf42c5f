// Fuzzing the reader: thousands of mutated manifests (values replaced, keys dropped or misspelt,
// bytes inserted or cut) go through the YAML and JSON readers in process. Whatever the input: no
// exception escapes; every error names its file and line, and an error about an object also names
// its field; every object accepted goes through the engine's snapshot and policy compiler without
// an issue. A fixed seed keeps CI reproducible; change it locally to explore.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { jsonErrorOffset } from '../../../src/model/json-error.ts';
import { JsonStreamReader } from '../../../src/model/json-stream.ts';
import { KINDS } from '../../../src/model/kinds.ts';
import { type LoadResult, ManifestLoader } from '../../../src/model/manifest-loader.ts';
import { parseManifests } from '../../../src/model/manifests.ts';
import { readFields } from '../../../src/model/read-fields.ts';
import { splitDocuments } from '../../../src/model/yaml-documents.ts';
import { skimChecked, skimDocument } from '../../../src/model/yaml-skim.ts';
import { compilePolicy } from '../../../src/policy/compile.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { buildSnapshot } from '../../../src/policy/snapshot.ts';

const SEED = 20261204;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const BASES: Json[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { team: 'a' } } },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'prod', labels: { app: 'web', 'app.kubernetes.io/name': 'web' } },
    spec: {
      containers: [
        { name: 'web', image: 'nginx', ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] },
      ],
    },
    status: { podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'prod' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: {} },
            { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe'] }] } },
          ],
          ports: [{ port: 'http' }, { port: 8000, endPort: 8080, protocol: 'UDP' }],
        },
      ],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }],
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'prod' },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'api', ports: [{ containerPort: 8080 }] }] },
      },
    },
  },
];

/** Values that have broken readers before: control characters, huge and odd numbers, YAML words. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    '',
    'a\nb',
    '\u001b[31m',
    '\u202e',
    '0100',
    'yes',
    '~',
    '10.0.0.1/8',
    '::/0',
    'TCP',
    'tcp',
    'Ingress',
  ),
  fc.constantFrom(0, -1, 65535, 65536, 1.5, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 80 }),
);

/** Every path to a value in `v`. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push(...paths(x, [...at, i]));
    });
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function mutate(v: Json, path: (string | number)[], op: number, value: unknown): Json {
  if (path.length === 0) return op === 0 ? (value as Json) : v;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? mutate(x, rest, op, value) : x));
  if (v === null || typeof v !== 'object') return v;
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) {
    if (k !== head) out[k] = x;
    else if (rest.length > 0) out[k] = mutate(x, rest, op, value);
    else if (op === 0) out[k] = value as Json;
    else if (op === 2) out[`${k}x`] = x; // a misspelt key
    // op 1: the key is dropped
  }
  return out;
}

const mutatedObject = fc
  .tuple(fc.constantFrom(...BASES), fc.nat(), fc.integer({ min: 0, max: 2 }), nasty)
  .map(([base, pick, op, value]) => {
    const all = paths(base);
    return mutate(base, all[pick % all.length] ?? [], op, value);
  });

const TEXT_BITS = [
  '"',
  "'",
  '{',
  '[',
  ']',
  '}',
  '\n---\n',
  '\t',
  '&a ',
  '*a',
  '<<: ',
  ': ',
  '- ',
  '#',
  '\u0000',
  '\\',
];

/** A manifest text: mutated objects as YAML or JSON, then maybe bytes inserted or the text cut. */
const manifestText = fc
  .tuple(
    fc.array(mutatedObject, { minLength: 1, maxLength: 3 }),
    fc.constantFrom('yaml', 'yamllist', 'json', 'list'),
    fc.option(fc.tuple(fc.nat(), fc.constantFrom(...TEXT_BITS), fc.boolean()), { nil: undefined }),
  )
  .map(([objects, format, edit]) => {
    let text =
      format === 'yaml'
        ? objects.map((o) => stringify(o, { version: '1.1' })).join('---\n')
        : format === 'yamllist'
          ? stringify({ apiVersion: 'v1', items: objects, kind: 'List' }, { version: '1.1' })
          : format === 'json'
            ? objects.map((o) => JSON.stringify(o, null, 2)).join('\n')
            : JSON.stringify({ apiVersion: 'v1', items: objects, kind: 'List' }, null, 2);
    if (edit) {
      const [at, bit, cut] = edit;
      const i = at % (text.length + 1);
      text = cut ? text.slice(0, i) : text.slice(0, i) + bit + text.slice(i);
    }
    return { file: format.startsWith('yaml') ? 'f.yaml' : 'f.json', text };
  });

/** `null` fields are unset for the API server (and dropped before checks). */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, dropNulls(x)]),
  );
}

function checkResult(r: LoadResult, file: string): void {
  for (const i of r.issues) {
    assert.equal(i.file, file, JSON.stringify(i));
    if (i.severity !== 'error') continue;
    assert.ok(Number.isInteger(i.line) && (i.line ?? 0) >= 1, `error without a line: ${JSON.stringify(i)}`);
    if (i.object !== undefined)
      assert.ok(i.field !== undefined, `object error without a field: ${JSON.stringify(i)}`);
  }
  const snapshot = buildSnapshot(
    {
      namespaces: r.namespaces.map((n) => n.object),
      pods: r.pods.map((p) => p.object),
      policies: r.policies.map((p) => p.object),
    },
    PROFILES.generic,
  );
  assert.deepEqual(snapshot.issues, [], 'an accepted object failed in the engine');
  for (const p of r.policies) {
    const c = compilePolicy(p.object);
    if (!c.ok) assert.fail(`accepted policy does not compile: ${JSON.stringify(c.issues)}`);
  }
}

describe('fuzzing the manifest reader', () => {
  it('never throws, locates every error, and accepts only what the engine can use', () => {
    fc.assert(
      fc.property(manifestText, fc.integer({ min: 1, max: 64 }), ({ file, text }, chunk) => {
        checkResult(parseManifests([{ file, text }]), file);
        if (file.endsWith('.json')) {
          // The streaming reader, in chunks of any size, must say the same as the whole-text one.
          const loader = new ManifestLoader();
          const bytes = new TextEncoder().encode(text);
          const reread = (o: number, n: number) => new TextDecoder().decode(bytes.subarray(o, o + n));
          const reader = new JsonStreamReader(loader, file, reread);
          for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk));
          reader.end();
          const streamed = loader.finish();
          checkResult(streamed, file);
          const whole = parseManifests([{ file, text }]);
          // The same issues; their order may differ (items read before their List's kind wait for it).
          const key = (r: LoadResult) =>
            r.issues.map((i) => `${i.line} ${i.severity} ${i.field} ${i.message}`).sort();
          assert.deepEqual(key(streamed), key(whole));
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('skims YAML without changing any field netaudit reads', () => {
    fc.assert(
      fc.property(manifestText, ({ file, text }) => {
        if (!file.endsWith('.yaml')) return;
        for (const { text: doc } of splitDocuments(text)) {
          const options = { version: '1.1', uniqueKeys: false } as const;
          const whole = parseAllDocuments(doc, options);
          const skimmed = parseAllDocuments(skimDocument(doc), options);
          // A syntax error the skim finds in what it blanks is one the library finds in the whole.
          const problem = skimChecked(doc).problem;
          const wholeErrors = !Array.isArray(whole) || whole.some((d) => d.errors.length > 0);
          if (problem !== undefined) assert.ok(wholeErrors, `${JSON.stringify(problem)}\n${doc}`);
          if (wholeErrors) continue;
          assert.ok(Array.isArray(skimmed) && skimmed.every((d) => d.errors.length === 0), skimDocument(doc));
          const read = (v: unknown): unknown => {
            if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
            const o = v as Record<string, unknown>;
            if (Array.isArray(o.items)) return o.items.map(read);
            const info = typeof o.kind === 'string' ? KINDS.get(o.kind) : undefined;
            return info ? readFields(o, info.role, info.kind) : { apiVersion: o.apiVersion, kind: o.kind };
          };
          const values = (docs: typeof whole) => docs.map((d) => JSON.stringify(read(dropNulls(d.toJS()))));
          assert.deepEqual(values(skimmed as typeof whole), values(whole));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('finds an error offset exactly when JSON.parse fails', () => {
    fc.assert(
      fc.property(
        fc.json({ maxDepth: 3 }),
        fc.nat(),
        fc.constantFrom('', '"', ',', '}', ']', '{', 'x', ' ', '\\', '\n', '1'),
        (json, at, bit) => {
          const i = at % (json.length + 1);
          const text = json.slice(0, i) + bit + json.slice(i);
          let valid = true;
          try {
            JSON.parse(text);
          } catch {
            valid = false;
          }
          assert.equal(jsonErrorOffset(text) === undefined, valid, text);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
