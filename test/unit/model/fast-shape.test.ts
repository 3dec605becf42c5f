import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { fastNamespace, fastNetworkPolicy, fastPod, NO } from '../../../src/model/fast-shape.ts';
import { zodSchemas } from '../../../src/model/manifest-schema.ts';

/** Keys in order, undefined values shown: two values print alike only if they are built alike. */
function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-1',
    namespace: 'a',
    labels: { app: 'web', '1': 'x' },
    uid: 'u',
    resourceVersion: '7',
  },
  spec: {
    containers: [
      {
        name: 'c',
        image: 'i',
        ports: [
          { name: 'http', containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIP: '10.0.0.1' },
          { containerPort: 53, protocol: 'UDP' },
        ],
      },
    ],
    initContainers: [{ name: 'init' }],
    hostNetwork: false,
    nodeName: 'n1',
  },
  status: { phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }], hostIP: '10.0.0.1' },
};

// Keys as kubectl writes them (sorted), not in the schema's order: the output must take the schema's.
const POLICY = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'np', namespace: 'a' },
  spec: {
    egress: [
      {
        ports: [{ endPort: 90, port: 80, protocol: 'TCP' }, { port: 'dns' }],
        to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
      },
      {},
    ],
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { team: 't' } },
            podSelector: {
              matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }],
              matchLabels: {},
            },
          },
        ],
      },
    ],
    podSelector: { matchLabels: { app: 'web' } },
    policyTypes: ['Ingress', 'Egress'],
  },
  status: { anything: [1, 2] },
};

const NAMESPACE = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { team: 't' } } };

const strictSchemas = zodSchemas().strict;

const CASES: [string, (v: unknown) => unknown, z.ZodType, unknown][] = [
  ['Pod', fastPod, strictSchemas.pod, POD],
  ['NetworkPolicy', fastNetworkPolicy, strictSchemas.networkPolicy, POLICY],
  ['Namespace', fastNamespace, strictSchemas.namespace, NAMESPACE],
];

/** A small seeded generator, so a failure names a mutant that can be made again. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const REPLACEMENTS: unknown[] = [
  'x',
  '',
  0,
  -1,
  80,
  1.5,
  2 ** 60,
  true,
  [],
  ['a'],
  [1],
  {},
  { a: 'b' },
  { a: 1 },
  JSON.parse('{"__proto__": "x"}'),
  [{}],
];

/** Every path to a value inside `v`. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) out.push(...paths(v[i], [...at, i]));
  } else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** `v` with one change at `path`: replaced, removed, or given an extra key. */
function mutate(v: unknown, path: (string | number)[], pick: () => number): unknown {
  const copy = structuredClone(v);
  if (path.length === 0) return REPLACEMENTS[Math.floor(pick() * REPLACEMENTS.length)];
  let parent = copy as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  const how = pick();
  if (how < 0.6) parent[last] = REPLACEMENTS[Math.floor(pick() * REPLACEMENTS.length)];
  else if (how < 0.8) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (typeof target === 'object' && target !== null && !Array.isArray(target))
      (target as Record<string, unknown>).extra = 'x';
    else parent[last] = { extra: 'x' };
  }
  return copy;
}

describe('the fast shape check', () => {
  for (const [kind, fast, schema, base] of CASES) {
    it(`gives for a well-formed ${kind} exactly what the strict schema gives`, () => {
      const zod = schema.safeParse(base);
      assert.ok(zod.success);
      const quick = fast(base);
      assert.notEqual(quick, NO);
      assert.equal(canonical(quick), canonical(zod.data));
    });

    it(`accepts a changed ${kind} only where the strict schema does, and then gives what it gives`, () => {
      const pick = rng(kind.length * 7919);
      const all = paths(base);
      let accepted = 0;
      let refused = 0;
      for (let n = 0; n < 3000; n++) {
        const path = all[Math.floor(pick() * all.length)] as (string | number)[];
        const mutant = mutate(base, path, pick);
        const quick = fast(mutant);
        const zod = schema.safeParse(mutant);
        if (quick === NO) {
          refused++;
          continue;
        }
        accepted++;
        assert.ok(zod.success, `accepted what the schema refuses: ${JSON.stringify(mutant)}`);
        assert.equal(canonical(quick), canonical(zod.data), `built differently: ${JSON.stringify(mutant)}`);
      }
      // Both outcomes occur, so neither half of the comparison is empty.
      assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
    });
  }

  it('leaves to the schema what it is not sure of: unknown fields in strict parts, unsafe integers', () => {
    const unknownField = { ...POLICY, spec: { ...POLICY.spec, ingres: [] } };
    assert.equal(fastNetworkPolicy(unknownField), NO);
    assert.equal(strictSchemas.networkPolicy.safeParse(unknownField).success, false);
    const bigPort = structuredClone(POD);
    (bigPort.spec.containers[0]?.ports[0] as { containerPort: number }).containerPort = 2 ** 60;
    assert.equal(fastPod(bigPort), NO);
    // Pods are not strict outside container ports: an unknown field is dropped, as the schema drops it.
    const extra = { ...POD, spec: { ...POD.spec, dnsPolicy: 'x' } };
    assert.equal(canonical(fastPod(extra)), canonical(strictSchemas.pod.parse(extra)));
  });
});
