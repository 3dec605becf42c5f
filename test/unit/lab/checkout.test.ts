// The lab refuses a checkout its pods cannot read (they run it as uid 65532), with the directory to fix.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkoutTraversable } from '../../../lab/up.ts';

test('a checkout under a 0700 directory is named, with the fix; a traversable one passes', () => {
  const top = mkdtempSync(join(tmpdir(), 'netaudit-checkout-'));
  try {
    const repo = join(top, 'repo');
    mkdirSync(repo);
    chmodSync(top, 0o700);
    assert.match(
      checkoutTraversable(repo) ?? '',
      new RegExp(`${top} does not let others through \\(mode 700\\)`),
    );
    chmodSync(top, 0o755);
    chmodSync(repo, 0o755);
    assert.equal(checkoutTraversable(repo), undefined);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
