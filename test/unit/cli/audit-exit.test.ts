// `netaudit audit`'s exit code: 1 for a mismatch always, for inconclusive probes only when asked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditExitCode } from '../../../src/cli/audit.ts';

test('a mismatch exits 1, inconclusive probes exit 1 only with --fail-on-inconclusive', () => {
  const cases: [mismatches: number, inconclusive: number, failOnInconclusive: boolean, exit: 0 | 1][] = [
    [0, 0, false, 0],
    [0, 0, true, 0],
    [0, 3, false, 0],
    [0, 3, true, 1],
    [2, 0, false, 1],
    [2, 3, true, 1],
  ];
  for (const [mismatches, inconclusive, fail, exit] of cases)
    assert.equal(
      auditExitCode({ mismatches, inconclusive }, fail),
      exit,
      `${mismatches}/${inconclusive}/${fail}`,
    );
});
