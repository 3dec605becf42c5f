import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { parseManifests } from '../../../src/model/manifests.ts';
import { RegionCheck } from '../../../src/model/yaml-region-check.ts';
import { skimChecked } from '../../../src/model/yaml-skim.ts';

/** The problem the check finds in `text` (all of it a region), as `line: message`. */
function check(text: string): string {
  const r = new RegionCheck();
  text.split('\n').forEach((l, i) => {
    r.line(l, i);
  });
  r.end();
  return r.problem === undefined ? 'ok' : `${r.problem.line + 1}: ${r.problem.message}`;
}

describe('RegionCheck', () => {
  const cases: [string, string, string][] = [
    ['a quoted value over two lines', '- a: "x\n    y"', 'ok'],
    ['a quote inside a plain value', "- a: it's\n- b: [it's]", 'ok'],
    ['a flow over lines', '- a: [1,\n    {b: "]"}]', 'ok'],
    ['quotes and brackets in a block scalar', '- a: |\n    "x\n    [', 'ok'],
    ['quotes and brackets in a plain value going on below', '- a: x\n    "y [', 'ok'],
    ['a colon without a space, and a commented one', '- url: http://h:80/\n- b: x #: y', 'ok'],
    ['a doubled single quote', "- a: 'it''s'", 'ok'],
    ['an escaped double quote', '- a: "x\\" y"', 'ok'],
    [
      'an unclosed double quote',
      '- name: A\n  value: "x\n- name: B',
      '2: the double-quoted value opened on this line is never closed',
    ],
    [
      'an unclosed single quote',
      "- a: 'it''s",
      '1: the single-quoted value opened on this line is never closed',
    ],
    [
      'an unclosed bracket',
      '- a: b\n- c: [1,\n    2',
      '2: the flow collection ("[" or "{") opened on this line is never closed',
    ],
    ['a bracket that closes nothing', '- a: [1]]', '1: "]" closes nothing'],
    ['text after a quoted value', '- a: "x" y', '1: text after the end of a quoted value or flow collection'],
    [
      'a second key on a line',
      '- a: b: c',
      '1: a second "key:" on one line (a value holding ": " must be quoted)',
    ],
    ['a reserved first character', '- a: @x', '1: a plain value cannot start with "@" (quote it)'],
  ];
  for (const [title, text, expected] of cases) {
    it(`${title}: ${expected}`, () => {
      assert.equal(check(text), expected);
    });
  }
});

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  containers:
  - name: c
    image: x
    env:
    - name: A
      value: "a"
    - name: B
      value: [1, 2]
    - name: C
      value: |
        text
    ports:
    - containerPort: 80
`;

describe('syntax errors in fields the skim blanks', () => {
  it('are reported at the line where the unclosed quote opened, and the document is skipped', () => {
    const load = parseManifests([{ file: 'p.yaml', text: POD.replace('value: "a"', 'value: "a') }]);
    assert.equal(load.pods.length, 0);
    assert.deepEqual(
      load.issues.map((i) => [i.severity, i.line]),
      [['error', 12]],
    );
    assert.match(load.issues[0]?.message ?? '', /never closed/);
  });

  it('are reported for an unclosed bracket at the line where it opened', () => {
    const load = parseManifests([{ file: 'p.yaml', text: POD.replace('value: [1, 2]', 'value: [1, 2') }]);
    assert.deepEqual(
      load.issues.map((i) => [i.severity, i.line]),
      [['error', 14]],
    );
  });

  it('leave the well-formed pod as it was read before', () => {
    const load = parseManifests([{ file: 'p.yaml', text: POD }]);
    assert.deepEqual(load.issues, []);
    assert.equal(load.pods.length, 1);
  });

  it('are reported only when the YAML library finds an error in the whole document (random edits of the unread part)', () => {
    const envStart = POD.indexOf('    env:') + '    env:\n'.length;
    const envEnd = POD.indexOf('    ports:');
    const edit = fc.record({
      at: fc.integer({ min: envStart, max: envEnd - 1 }),
      cut: fc.integer({ min: 0, max: 3 }),
      put: fc
        .array(fc.constantFrom('"', "'", '[', ']', '{', '}', ':', ' ', '#', '@', '\n', '-', '|', 'x', ','), {
          maxLength: 4,
        })
        .map((cs) => cs.join('')),
    });
    let found = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let text = POD;
        for (const e of [...edits].sort((a, b) => b.at - a.at))
          text = text.slice(0, e.at) + e.put + text.slice(e.at + e.cut);
        const problem = skimChecked(text).problem;
        if (problem === undefined) return;
        found++;
        const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: false });
        assert.ok(
          !Array.isArray(docs) || docs.some((d) => d.errors.length > 0),
          `reported ${JSON.stringify(problem)} for a document the library reads:\n${text}`,
        );
      }),
      { seed: 20261205, numRuns: 2000 },
    );
    assert.ok(found > 100, `only ${found} edits were found malformed: the test proves little`);
  });
});
