import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KINDS } from '../../../src/model/kinds.ts';
import { type Fields, fieldsForKind, readFields } from '../../../src/model/read-fields.ts';

/** The projection written plainly from the field lists: the expectation for readFields. */
function expected(value: unknown, fields: Fields): unknown {
  if (fields === true) return value;
  if (Array.isArray(value)) return value.map((v) => expected(v, fields));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, below] of Object.entries(fields))
    if (Object.hasOwn(value, key)) out[key] = expected((value as Record<string, unknown>)[key], below);
  return out;
}

describe('readFields', () => {
  const kinds = [...KINDS.values()];
  const json = fc.jsonValue({ maxDepth: 3 });
  const field = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), json, { maxKeys: keys.length });
  // Objects with the fields netaudit reads (and others), at several levels.
  const object = fc.record(
    {
      apiVersion: json,
      kind: json,
      metadata: fc.oneof(field(['name', 'namespace', 'labels', 'uid', 'annotations', 'managedFields']), json),
      spec: fc.oneof(
        fc.record({
          containers: fc.array(field(['name', 'image', 'ports', 'env'])),
          template: fc.record({
            metadata: field(['name', 'labels', 'x']),
            spec: field(['containers', 'volumes']),
          }),
          jobTemplate: json,
          nodeName: json,
          volumes: json,
        }),
        json,
      ),
      status: fc.oneof(field(['phase', 'podIP', 'podIPs', 'conditions']), json),
      extra: json,
    },
    { requiredKeys: [] },
  );

  it('keeps what the field lists say, in their order, for every kind', () => {
    fc.assert(
      fc.property(object, fc.constantFrom(...kinds), (value, info) => {
        const read = readFields(value, info.role, info.kind);
        const want = expected(value, fieldsForKind(info.kind));
        assert.deepEqual(read, want);
        assert.deepEqual(Object.keys(read), Object.keys(want as object));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a given kind and apiVersion as a copy of the object with them set would be read', () => {
    fc.assert(
      fc.property(object, fc.constantFrom(...kinds), fc.string(), (value, info, apiVersion) => {
        const head = { kind: info.kind, apiVersion };
        const read = readFields(value, info.role, info.kind, head);
        const want = readFields({ ...value, ...head }, info.role, info.kind);
        assert.deepEqual(read, want);
        assert.deepEqual(Object.keys(read), Object.keys(want));
      }),
      { numRuns: 2000 },
    );
  });
});
