import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifests } from '../../../src/model/manifests.ts';
import { splitDocuments } from '../../../src/model/yaml-documents.ts';
import { skimDocument } from '../../../src/model/yaml-skim.ts';

function load(text: string) {
  return parseManifests([{ file: 'y.yaml', text }]);
}

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  annotations:
    a: "1"
  labels:
    app: web
spec:
  volumes:
  - name: v
    emptyDir: {}
  containers:
  - env:
    - name: A
      value: "x"
    name: web
    image: nginx
    resources:
      limits: {cpu: 1}
    ports:
    - containerPort: 8080
      name: http
  nodeName: n1
status:
  conditions:
  - type: Ready
  podIP: 10.0.0.5
`;

describe('skimming fields netaudit never reads out of YAML', () => {
  it('blanks unread subtrees line by line and keeps every read field on its own line', () => {
    const out = skimDocument(POD);
    const changed: Record<number, string> = {
      6: '  annotations: ~',
      7: '',
      11: '  volumes: ~',
      12: '',
      13: '',
      15: '  - env: ~',
      16: '',
      17: '',
      20: '    resources: ~',
      21: '',
      27: '  conditions: ~',
      28: '',
    };
    const expected = POD.split('\n').map((l, i) => changed[i + 1] ?? l);
    assert.deepEqual(out.split('\n'), expected);
  });

  it('loads the skimmed pod with what it read, and lines that point at the original text', () => {
    const r = load(POD);
    assert.deepEqual(
      r.issues.filter((i) => i.severity === 'error'),
      [],
    );
    const p = r.pods[0];
    assert.deepEqual(p?.object.spec.containers, [
      { name: 'web', image: 'nginx', ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }] },
    ]);
    assert.equal(p?.object.spec.nodeName, 'n1');
    assert.equal(p?.object.status?.podIP, '10.0.0.5');
    assert.deepEqual(
      r.locate({ kind: 'Pod', namespace: 'default', name: 'web' }, 'spec.containers[0].ports[0]'),
      {
        file: 'y.yaml',
        line: 23,
      },
    );
  });

  it('keeps only apiVersion and kind of a kind netaudit does not read, however large', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `  k${i}: v`).join('\n');
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n${keys}\n`;
    const out = skimDocument(text).split('\n');
    assert.equal(out.length, text.split('\n').length);
    assert.deepEqual(
      out.filter((l) => l !== ''),
      ['apiVersion: v1', 'kind: ConfigMap', 'metadata: ~', 'data: ~'],
    );
    assert.deepEqual(load(text).skipped, { ConfigMap: 1 });
  });

  it('leaves NetworkPolicy specs whole, so that a misspelt field is still reported', () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: default}
spec:
  podSelector: {}
  ingres:
  - {}
`;
    assert.equal(skimDocument(text), text);
    const r = load(text);
    assert.match(r.issues[0]?.message ?? '', /unknown field "ingres".*did you mean "ingress"/);
    assert.equal(r.issues[0]?.line, 6);
  });

  it('returns the text unchanged when an anchor sits in what it would blank', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nx: &a\n  name: y\nspec:\n  containers:\n  - name: c\n';
    assert.equal(skimDocument(text), text);
  });
});

describe('YAML read as kubectl sends it', () => {
  it('reads 0100 as octal 64, as the API server stores it', () => {
    const r = load(
      `${POD.split('spec:')[0]}spec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 0100\n`,
    );
    assert.equal(r.pods[0]?.object.spec.containers[0]?.ports?.[0]?.containerPort, 64);
  });

  for (const [scalar, port] of [
    ['0o17', 15],
    ['0X50', 80],
    ['0x50', 80],
    ['0b1010000', 80],
    ['1_000', 1000],
    ['080', 80],
  ] as const) {
    it(`reads port ${scalar} as go-yaml v2 does: ${port}`, () => {
      const r = load(
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  ingress: [{ports: [{port: ${scalar}}]}]\n`,
      );
      assert.equal(r.policies[0]?.object.spec.ingress?.[0]?.ports?.[0]?.port, port);
    });
  }

  it('reads an unquoted yes as a boolean, which a label value cannot be', () => {
    const r = load(
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n  labels:\n    role: yes\n    when: 2026-01-01\n',
    );
    assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
    assert.equal(r.issues[0]?.field, 'metadata.labels.role');
    assert.equal(r.issues[0]?.line, 6);
  });

  it('keeps a date-like label value a string', () => {
    const r = load(
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n  labels:\n    when: 2026-01-01\n',
    );
    assert.deepEqual(r.issues, []);
    assert.equal(r.namespaces[0]?.object.metadata.labels?.when, '2026-01-01');
  });

  it('reports a duplicate key at its second occurrence and skips that document only', () => {
    const r = load(
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    x: "1"\n    x: "2"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n',
    );
    assert.deepEqual(
      r.issues.map((i) => [i.severity, i.line, i.object, i.field]),
      [['error', 7, 'Namespace a', 'metadata.labels.x']],
    );
    assert.match(r.issues[0]?.message ?? '', /key "x" appears twice/);
    assert.deepEqual(
      r.namespaces.map((n) => n.ref.name),
      ['b'],
    );
  });

  it('reports keys written twice in the fields netaudit reads, in List items too, and not elsewhere', () => {
    const r = load(
      [
        'apiVersion: v1',
        'kind: List',
        'items:',
        '- apiVersion: v1',
        '  kind: Pod',
        '  metadata:',
        '    name: a',
        '    annotations: {n: "1", n: "2"}',
        '  spec:',
        '    containers:',
        '    - name: c',
        '      image: x',
        '      ports: [{containerPort: 80, containerPort: 81}]',
        '- apiVersion: v1',
        '  kind: ConfigMap',
        '  metadata: {name: c}',
        '  data: {k: "1", k: "2"}',
        '- apiVersion: v1',
        '  kind: Namespace',
        '  metadata: {name: ok, annotations: {n: "1", n: "2"}}',
      ].join('\n'),
    );
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.object, i.field]),
      [[13, 'Pod default/a', 'spec.containers[0].ports[0].containerPort']],
    );
    assert.deepEqual(
      r.namespaces.filter((n) => !n.implied).map((n) => n.ref.name),
      ['ok'],
    );
  });

  it('names the line where an unclosed quote opened, and still reads the next document', () => {
    const r = load(
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "a\n  labels: {}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n',
    );
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]?.line, 4);
    assert.deepEqual(
      r.namespaces.map((n) => n.ref.name),
      ['b'],
    );
  });

  it('cuts documents at their --- lines, comments before the first going with it', () => {
    assert.deepEqual(splitDocuments('# c\n---\na: 1\n---\nb: 2\n'), [
      { text: '# c\n---\na: 1\n', line: 1 },
      { text: '---\nb: 2\n', line: 4 },
    ]);
    assert.deepEqual(splitDocuments('a: 1\n--- \nb: "---"\n'), [
      { text: 'a: 1\n', line: 1 },
      { text: '--- \nb: "---"\n', line: 2 },
    ]);
  });
});

describe('skimming a List as kubectl get -o yaml writes it', () => {
  const LIST = `apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    managedFields:
    - apiVersion: v1
      fieldsType: FieldsV1
      manager: kubelet
    name: a
    namespace: default
    ownerReferences:
    - apiVersion: apps/v1
      kind: ReplicaSet
      name: a-1
  spec:
    containers:
    - env:
      - name: X
        value: "1"
      image: nginx
      name: web
      ports:
      - containerPort: 80
        protocol: TCP
  status:
    conditions:
    - status: "True"
      type: Ready
    podIP: 10.0.0.1
- kind: NetworkPolicy
  apiVersion: networking.k8s.io/v1
  metadata:
    name: np
    namespace: default
  spec:
    podSelector: {}
    ingres: []
kind: List
metadata:
  resourceVersion: ""
`;

  it('blanks each item by its own kind and keeps every line where it was', () => {
    const out = skimDocument(LIST).split('\n');
    const input = LIST.split('\n');
    assert.equal(out.length, input.length);
    const changed = input
      .map((l, i) => (out[i] === l ? undefined : [i + 1, out[i]]))
      .filter((x) => x !== undefined);
    // managedFields, ownerReferences, env and conditions: the key with a null value, the rest blank.
    assert.deepEqual(changed, [
      [6, '    managedFields: ~'],
      [7, ''],
      [8, ''],
      [9, ''],
      [12, '    ownerReferences: ~'],
      [13, ''],
      [14, ''],
      [15, ''],
      [18, '    - env: ~'],
      [19, ''],
      [20, ''],
      [27, '    conditions: ~'],
      [28, ''],
      [29, ''],
    ]);
  });

  it('loads the same objects and warnings as the unskimmed List', () => {
    const r = load(LIST);
    assert.deepEqual(
      r.pods.map((p) => [
        p.ref.name,
        p.object.status?.podIP,
        p.object.spec.containers[0]?.ports?.[0]?.containerPort,
      ]),
      [['a', '10.0.0.1', 80]],
    );
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field]),
      [[38, 'spec.ingres']],
    );
  });
});

describe('null as the API server decodes it', () => {
  it('reads a null label value as "" (a selector on role=""), not as no label', () => {
    const r = load(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  podSelector:\n    matchLabels: {role: null}\n',
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.policies[0]?.object.spec.podSelector, { matchLabels: { role: '' } });
  });

  it('reads a null list item as its zero value: a port of every TCP port, an empty policy type', () => {
    const ok = load(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  ingress: [{ports: [null]}]\n',
    );
    assert.deepEqual(ok.issues, []);
    assert.deepEqual(ok.policies[0]?.object.spec.ingress, [{ ports: [{ protocol: 'TCP' }] }]);
    const bad = load(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  policyTypes: [null]\n',
    );
    assert.equal(bad.issues[0]?.field, 'spec.policyTypes[0]');
  });
});
