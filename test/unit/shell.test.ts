// Every bash script the project ships passes shellcheck: the scripts run as root on fresh machines
// (scripts/setup, scripts/lab) where a quoting slip is expensive. A missing shellcheck is a failure,
// not a skip, so a machine without it cannot pass the suite silently.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';

const REPO = resolve(import.meta.dirname, '../..');

/** Bash by shebang, or a `.sh` file (sourced ones, like scripts/node-env.sh, have no shebang). */
function isBash(file: string): boolean {
  if (!statSync(file).isFile()) return false;
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  return /^#!.*\bbash\b/.test(first) || file.endsWith('.sh');
}

function scripts(): string[] {
  const found: string[] = [];
  for (const dir of ['scripts', 'scripts/lab.d', 'scripts/setup.d', 'bench/peers']) {
    for (const name of readdirSync(join(REPO, dir)).sort()) {
      const rel = `${dir}/${name}`;
      if (isBash(join(REPO, rel))) found.push(rel);
    }
  }
  if (existsSync(join(REPO, '.ci/run'))) found.push('.ci/run');
  return found;
}

function shellcheckVersion(): string | undefined {
  const r = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

describe('shell scripts', () => {
  const files = scripts();

  test('the scripts that matter are found', () => {
    for (const f of [
      'scripts/setup',
      'scripts/test',
      'scripts/lab',
      'scripts/kind',
      'scripts/node-env.sh',
      'bench/peers/build-cyclonus.sh',
      '.ci/run',
    ]) {
      assert.ok(files.includes(f), `${f} is checked (found: ${files.join(', ')})`);
    }
  });

  test('shellcheck is installed', () => {
    assert.ok(
      shellcheckVersion(),
      'shellcheck is not installed: scripts/setup installs it (or apt-get install shellcheck)',
    );
  });

  for (const file of files) {
    test(`shellcheck ${file}`, () => {
      assert.ok(shellcheckVersion(), 'shellcheck is not installed: scripts/setup installs it');
      // --shell=bash: sourced files have no shebang; -x follows `source` from the repository root.
      const r = spawnSync('shellcheck', ['--shell=bash', '--external-sources', '--format=gcc', file], {
        cwd: REPO,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `shellcheck ${file}:\n${r.stdout}${r.stderr}`);
    });
  }
});
