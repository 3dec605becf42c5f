// Enforcement latency is observed only for changes a round actually looked at: every affected class
// probed conclusively, none of them mismatched, and the round started after the change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { enforcedChanges, type PendingChange } from '../../../src/controller/enforcement.ts';

const change = (name: string, at: number, ...classes: string[]) => ({ name, at, classes: new Set(classes) });

describe('which policy changes a round proves enforced', () => {
  const pending = [
    change('probed, no mismatch', 100, 'a', 'b'),
    change('one class never probed', 100, 'a', 'z'),
    change('a class mismatched', 100, 'a', 'm'),
    change('after the round started', 300, 'a', 'b'),
    change('no class', 100),
  ];
  const cases: { name: string; probed: string[]; mismatched: string[]; want: string[] }[] = [
    {
      name: 'only the change whose classes were all probed conclusively and match',
      probed: ['a', 'b', 'm'],
      mismatched: ['m'],
      want: ['probed, no mismatch'],
    },
    {
      name: 'a round that probed nothing conclusively proves nothing',
      probed: [],
      mismatched: [],
      want: [],
    },
    {
      name: 'a later round that probes the missing class proves that change too',
      probed: ['a', 'b', 'z', 'm'],
      mismatched: ['m'],
      want: ['probed, no mismatch', 'one class never probed'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = enforcedChanges<PendingChange & { name: string }>(pending, {
        started: 200,
        probed: new Set(c.probed),
        mismatched: new Set(c.mismatched),
      });
      assert.deepEqual(
        got.map((p) => p.name),
        c.want,
      );
    });
  }
});
