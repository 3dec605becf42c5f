import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeForTerminal, formatIssue } from '../../src/errors.ts';
import { parseManifests } from '../../src/model/manifests.ts';

describe('escaping user input before it reaches a terminal', () => {
  it('writes newlines, escape sequences, C1 codes and bidi overrides as escapes', () => {
    assert.equal(
      escapeForTerminal('a\nb\tc\r\u001b[2J\u0085\u202edone'),
      'a\\nb\\tc\\r\\x1b[2J\\x85\\u202edone',
    );
    assert.equal(escapeForTerminal('plain ünïcödé name-1'), 'plain ünïcödé name-1');
  });

  it('keeps a forged line out of an issue about a name with a newline in it', () => {
    const r = parseManifests([
      {
        file: 'x.yaml',
        text: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "ok\\nerror: x.yaml:1: forged"\n',
      },
    ]);
    const lines = r.issues.map(formatIssue);
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]?.includes('\n'), lines[0]);
    assert.match(lines[0] ?? '', /ok\\nerror: x\.yaml:1: forged/);
  });
});
