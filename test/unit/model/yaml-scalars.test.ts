// Plain scalars read as kubectl reads them. The expected values were printed by sigs.k8s.io/yaml
// v1.6.0 (kubectl's YAML reader: yaml.Unmarshal into a map, then JSON), not derived from our code;
// values compare as the JSON kubectl sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readDocuments } from '../../../src/model/yaml-documents.ts';

const GO_YAML: readonly (readonly [string, string | number])[] = [
  ['e4815220', 'e4815220'],
  ['2e9671524', '2e9671524'], // overflows a float64: Go's ParseFloat refuses it
  ['1e5', 100000],
  ['1E+05', 100000],
  ['1.', 1],
  ['.5', 0.5],
  ['+.5', 0.5],
  ['-1.5e3', -1500],
  ['1_0.5', 10.5],
  ['1e', '1e'],
  ['e5', 'e5'],
  ['.e5', '.e5'],
  ['0x1p-2', '0x1p-2'],
  ['1e400', '1e400'],
  ['7e5', 700000],
  ['5d4b7c9f8', '5d4b7c9f8'],
  ['12e3f', '12e3f'],
  ['1.5_0', 1.5],
  ['._5', '._5'],
  ['0.5e-3', 0.0005],
  ['6.02e+23', 6.02e23],
  ['1e-400', 0],
  ['1.e5', 100000],
  ['-e5', '-e5'],
  ['+1e5', 100000],
  ['1__2.5', 12.5],
];

/** Integers, booleans, nulls and timestamps, from the same program. */
const GO_YAML_OTHERS: readonly (readonly [string, string | number | boolean | null])[] = [
  ['0100', 64],
  ['0o17', 15],
  ['0x1F', 31],
  ['0X1F', 31],
  ['0b101', 5],
  ['0B101', 5],
  ['-0b101', -5],
  ['+0x10', 16],
  ['1_000', 1000],
  ['0_1', 1],
  ['-0', 0],
  ['+0', 0],
  ['00', 0],
  ['08', 8],
  ['09.5', 9.5],
  ['0.0', 0],
  ['1:20', '1:20'],
  ['1:20.5', '1:20.5'],
  ['190:20:30', '190:20:30'],
  ['yes', true],
  ['Yes', true],
  ['YES', true],
  ['no', false],
  ['on', true],
  ['Off', false],
  ['y', true],
  ['Y', true],
  ['n', false],
  ['N', false],
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['null', null],
  ['Null', null],
  ['NULL', null],
  ['~', null],
  ['', null],
  ['2001-12-14', '2001-12-14'],
  ['2001-12-14t21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00'],
  ['0x', '0x'],
  ['0b', '0b'],
  ['0o', '0o'],
  ['1e+5', 100000],
  ['9223372036854775807', 9223372036854776000],
  ['9223372036854775808', 9223372036854776000],
  ['18446744073709551616', 18446744073709552000],
  ['-9223372036854775809', -9223372036854776000],
  ['0777777777777777777777', 9223372036854776000],
  ['1.0e5', 100000],
  ['-.5', -0.5],
  ['0.', 0],
  ['+', '+'],
  ['.', '.'],
  ['0xG', '0xG'],
  ['1_', 1],
  ['_1', '_1'],
  ['0b_1', 1],
  ['0x_1f', 31],
  ['tRue', 'tRue'],
  ['oN', 'oN'],
  ['=', '='],
  ['<<', '<<'],
];

function labelValue(plain: string): unknown {
  const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    k: ${plain}\n`;
  const r = readDocuments('t.yaml', text);
  assert.deepEqual(r.issues, []);
  const pod = r.documents[0]?.value as { metadata: { labels: Record<string, unknown> } };
  return pod.metadata.labels.k;
}

test('plain scalars that look like floats are read as go-yaml v2 reads them', () => {
  const wrong = GO_YAML.filter(
    ([plain, want]) => JSON.stringify(labelValue(plain)) !== JSON.stringify(want),
  ).map(
    ([plain, want]) => `${plain}: want ${JSON.stringify(want)}, read ${JSON.stringify(labelValue(plain))}`,
  );
  assert.deepEqual(wrong, []);
});

test('integers, booleans, nulls and timestamps are read as go-yaml v2 reads them', () => {
  const wrong = GO_YAML_OTHERS.filter(
    ([plain, want]) => JSON.stringify(labelValue(plain)) !== JSON.stringify(want),
  ).map(
    ([plain, want]) => `${plain}: want ${JSON.stringify(want)}, read ${JSON.stringify(labelValue(plain))}`,
  );
  assert.deepEqual(wrong, []);
});
