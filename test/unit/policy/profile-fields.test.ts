// Every behaviour a CNI profile declares must change what netaudit expects or says: a field that
// code under src/ never reads is a promise the audit does not keep. References are found by the
// TypeScript checker, so a field only filled in by the profiles, or read only by tests, fails.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { createVirtualFileSystem } from 'typescript/unstable/fs';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { memberReads } from '../../support/member-reads.ts';

const REPO = resolve(import.meta.dirname, '../../..');

describe('CniProfile fields', { timeout: 120_000 }, () => {
  test('every field of CniProfile is read by code under src/', () => {
    const reads = memberReads({
      tsconfig: resolve(REPO, 'tsconfig.json'),
      file: resolve(REPO, 'src/policy/profiles.ts'),
      interfaceName: 'CniProfile',
      readersUnder: resolve(REPO, 'src'),
    });
    // The checker saw the interface the profiles are built from.
    assert.deepEqual([...reads.keys()].sort(), Object.keys(PROFILES.generic).sort());
    const unread = [...reads].filter(([, at]) => at.length === 0).map(([field]) => field);
    assert.deepEqual(unread, [], `declared in CniProfile, read nowhere under src/: ${unread.join(', ')}`);
  });

  test('the check tells a read from a field that is only set, assigned or read outside the readers', () => {
    const root = '/netaudit-member-reads-fixture';
    const fs = createVirtualFileSystem({
      [`${root}/tsconfig.json`]: JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          noEmit: true,
          allowImportingTsExtensions: true,
          types: [],
        },
        include: ['src', 'test'],
      }),
      [`${root}/src/p.ts`]: [
        'export interface P { used: boolean; destructured: boolean; indexed: boolean; onlySet: boolean; readInTest: boolean; assigned: boolean }',
        'export const VALUE: P = { used: true, destructured: true, indexed: true, onlySet: true, readInTest: true, assigned: true };',
        'export function f(p: P): boolean { const { destructured } = p; p.assigned = false; return p.used && destructured && p["indexed"]; }',
      ].join('\n'),
      [`${root}/test/t.ts`]:
        "import type { P } from '../src/p.ts';\nexport const g = (p: P): boolean => p.readInTest;\n",
    });
    const reads = memberReads({
      tsconfig: `${root}/tsconfig.json`,
      file: `${root}/src/p.ts`,
      interfaceName: 'P',
      readersUnder: `${root}/src`,
      fs,
    });
    const unread = [...reads].filter(([, at]) => at.length === 0).map(([field]) => field);
    assert.deepEqual(unread.sort(), ['assigned', 'onlySet', 'readInTest']);
    for (const field of ['used', 'destructured', 'indexed']) assert.equal(reads.get(field)?.length, 1, field);
  });
});
