// `-o sarif` for code-scanning user interfaces: valid against the SARIF 2.1.0 JSON schema (the
// official one, as @microsoft/jest-sarif ships it, checked with ajv), with lint findings and, with
// --base, opened flows, each pointing at a file and line.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import AjvDraft04 from 'ajv-draft-04';
import type { AnalyzeArgs } from '../../../src/cli/analyze.ts';
import { runAnalyzeWith } from '../../support/analyze.ts';

const require = createRequire(import.meta.url);
const schema = JSON.parse(
  readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
) as object;
// A CommonJS module whose class is its `default` export; the schema's own patterns are not valid
// under the `u` flag.
const validate = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false }).compile(
  schema,
);

const root = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'netaudit-sarif-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (partial: Partial<AnalyzeArgs>) => runAnalyzeWith({ output: 'sarif', ...partial });

interface Log {
  runs: {
    tool: { driver: { rules: { id: string }[] } };
    results: {
      ruleId: string;
      level: string;
      message: { text: string };
      locations?: {
        physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } };
      }[];
    }[];
  }[];
}

describe('analyze -o sarif', () => {
  test('lint findings of the seed examples are valid SARIF 2.1.0, with rule metadata, file and line', async () => {
    const r = await run({ file: [`${root}examples/seed/09-port-range`] });
    assert.equal(r.code, 0);
    const log = JSON.parse(r.out) as Log;
    assert.ok(validate(log), JSON.stringify(validate.errors));
    const run0 = log.runs[0];
    assert.ok(run0);
    assert.ok(run0.tool.driver.rules.some((rule) => rule.id === 'NA005'));
    const dns = run0.results.find((x) => x.ruleId === 'NA005');
    assert.equal(dns?.level, 'warning');
    assert.match(
      dns?.locations?.[0]?.physicalLocation.artifactLocation.uri ?? '',
      /09-port-range\/policy\.yaml$/,
    );
    assert.equal(dns?.locations?.[0]?.physicalLocation.region?.startLine, 13);
  });

  test('with --base, the flows a change opens are results at the rule that opens them', async () => {
    const base = join(dir, 'base');
    const head = join(dir, 'head');
    cpSync(`${root}examples/seed/05-pod-selector`, base, { recursive: true });
    cpSync(base, head, { recursive: true });
    const file = join(head, 'policy.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('role: app', 'role: test'));
    const r = await run({ file: [head], base: [base], failOn: 'opened' });
    assert.equal(r.code, 1, '--fail-on opened gates the SARIF run too');
    const log = JSON.parse(r.out) as Log;
    assert.ok(validate(log), JSON.stringify(validate.errors));
    const opened = log.runs[0]?.results.filter((x) => x.ruleId === 'NA100') ?? [];
    assert.deepEqual(
      opened.map((x) => x.message.text),
      [
        'opens default/test -> default/database 5432/TCP, allowed by default/allow-app-to-database#ingress[0]',
      ],
    );
    assert.match(
      opened[0]?.locations?.[0]?.physicalLocation.artifactLocation.uri ?? '',
      /head\/policy\.yaml$/,
    );
  });

  test('a document the schema rejects is caught (the validator is not vacuous)', () => {
    assert.equal(validate({ version: '2.1.0', runs: [{ tool: {} }] }), false);
  });
});
