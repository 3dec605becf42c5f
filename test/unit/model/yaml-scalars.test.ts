// Plain scalars read as kubectl reads them. The expected values were printed by sigs.k8s.io/yaml
// v1.6.0 (kubectl's YAML reader: yaml.Unmarshal into a map, then JSON), not derived from our code.
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

function labelValue(plain: string): unknown {
  const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    k: ${plain}\n`;
  const r = readDocuments('t.yaml', text);
  assert.deepEqual(r.issues, []);
  const pod = r.documents[0]?.value as { metadata: { labels: Record<string, unknown> } };
  return pod.metadata.labels.k;
}

test('plain scalars that look like floats are read as go-yaml v2 reads them', () => {
  const wrong = GO_YAML.filter(([plain, want]) => !Object.is(labelValue(plain), want)).map(
    ([plain, want]) => `${plain}: want ${JSON.stringify(want)}, read ${JSON.stringify(labelValue(plain))}`,
  );
  assert.deepEqual(wrong, []);
});
