import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManifestIssue } from '../../../src/errors.ts';
import { type LoadResult, parseManifests } from '../../../src/model/manifests.ts';

// Fixture language: YAML texts where `# <-` marks the line an issue must point at.
function load(text: string, file = 'm.yaml', options = {}): LoadResult {
  return parseManifests([{ file, text }], options);
}

function markedLine(text: string): number {
  const i = text.split('\n').findIndex((l) => l.includes('# <-'));
  assert.ok(i >= 0, 'fixture has no # <- marker');
  return i + 1;
}

function errors(r: LoadResult): ManifestIssue[] {
  return r.issues.filter((i) => i.severity === 'error');
}

function warnings(r: LoadResult): ManifestIssue[] {
  return r.issues.filter((i) => i.severity === 'warning');
}

function policy(spec: string, name = 'np'): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: prod
spec:
${spec}`;
}

function pod(spec: string, name = 'p', extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: prod
spec:
${spec}${extra}`;
}

const NS_PROD = `apiVersion: v1
kind: Namespace
metadata:
  name: prod
`;

interface ErrorCase {
  readonly title: string;
  readonly text: string;
  readonly object: string;
  readonly field: string;
  readonly message: RegExp;
}

function assertOnlyError(c: ErrorCase): void {
  const r = load(`${NS_PROD}---\n${c.text}`);
  const errs = errors(r);
  assert.equal(errs.length, 1, `expected one error, got ${JSON.stringify(r.issues, null, 1)}`);
  const e = errs[0]!;
  assert.equal(e.file, 'm.yaml');
  assert.equal(e.line, markedLine(`${NS_PROD}---\n${c.text}`));
  assert.equal(e.object, c.object);
  assert.equal(e.field, c.field);
  assert.match(e.message, c.message);
  assert.equal(r.policies.length + r.pods.length, 0, 'the invalid object must be skipped');
}

describe('kinds and workloads', () => {
  it('reads a Namespace, a Pod and a NetworkPolicy', () => {
    const r = load(`${NS_PROD}---
${pod(`  containers:
  - name: c
    ports:
    - containerPort: 80
      name: http`)}
---
${policy('  podSelector: {}')}`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.namespaces.map((n) => n.ref),
      [{ kind: 'Namespace', name: 'prod' }],
    );
    assert.deepEqual(
      r.pods.map((p) => p.ref),
      [{ kind: 'Pod', namespace: 'prod', name: 'p' }],
    );
    assert.equal(r.policies[0]?.object.metadata.name, 'np');
    assert.deepEqual(r.pods[0]?.source, { file: 'm.yaml', line: 6, documentIndex: 1 });
  });

  const workloads: [string, string, string][] = [
    ['Deployment', 'apps/v1', 'template'],
    ['StatefulSet', 'apps/v1', 'template'],
    ['DaemonSet', 'apps/v1', 'template'],
    ['ReplicaSet', 'apps/v1', 'template'],
    ['ReplicationController', 'v1', 'template'],
    ['Job', 'batch/v1', 'template'],
    ['CronJob', 'batch/v1', 'jobTemplate'],
  ];
  for (const [kind, apiVersion, shape] of workloads) {
    it(`turns a ${kind} into one pod named ${kind.toLowerCase()}-NAME with the template's labels and ports`, () => {
      const template = `    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        ports:
        - containerPort: 8080
          name: http`;
      const spec =
        shape === 'template'
          ? `spec:\n  replicas: 3\n  template:\n${template}`
          : `spec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n${template.replace(/^/gm, '    ')}`;
      const r = load(
        `${NS_PROD}---\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: web\n  namespace: prod\n${spec}\n`,
      );
      assert.deepEqual(r.issues, []);
      assert.equal(r.pods.length, 1);
      const p = r.pods[0]!;
      assert.deepEqual(p.ref, { kind: 'Pod', namespace: 'prod', name: `${kind.toLowerCase()}-web` });
      assert.deepEqual(p.origin, { kind, namespace: 'prod', name: 'web' });
      assert.deepEqual(p.object.metadata, {
        name: `${kind.toLowerCase()}-web`,
        namespace: 'prod',
        labels: { app: 'web' },
      });
      assert.deepEqual(p.object.spec.containers, [
        { name: 'web', ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }] },
      ]);
    });
  }

  it('skips other kinds silently and counts them by kind', () => {
    const r = load(`apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: v1
kind: Service
metadata: {name: t}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico}
spec: {selector: all()}
`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.skipped, { Service: 2, ConfigMap: 1, NetworkPolicy: 1 });
    assert.equal(r.policies.length, 0);
  });

  it('rejects a retired apiVersion of a kind it reads instead of ignoring the object', () => {
    const text = `apiVersion: extensions/v1beta1 # <-
kind: NetworkPolicy
metadata: {name: old}
spec: {podSelector: {}}
`;
    const r = load(text);
    assert.equal(errors(r).length, 1);
    assert.equal(errors(r)[0]?.line, markedLine(text));
    assert.match(errors(r)[0]!.message, /not supported for NetworkPolicy; use networking\.k8s\.io\/v1/);
  });

  it('reports a document without kind', () => {
    const r = load('apiVersion: v1\nmetadata: {name: x}\n');
    assert.equal(errors(r).length, 1);
    assert.match(errors(r)[0]!.message, /kind is required/);
  });
});

describe('files, documents and lists', () => {
  it('reads every document of a multi-document stream, skipping empty ones and comments', () => {
    const r = load(`# leading comment
---
${NS_PROD}---
---
# only a comment
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.namespaces.map((n) => [n.ref.name, n.source.documentIndex, n.source.line]),
      [
        ['prod', 0, 3],
        ['other', 3, 11],
      ],
    );
  });

  it('reads the items of kind: List, each at its own line', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: np, namespace: prod}
  spec:
    podSelector: {}
    ingress:
    - ports:
      - port: 0 # <-
`;
    const r = load(text);
    assert.equal(r.namespaces.length, 1);
    assert.equal(r.namespaces[0]?.source.line, 4);
    assert.deepEqual(
      errors(r).map((e) => [e.line, e.object, e.field]),
      [[markedLine(text), 'NetworkPolicy prod/np', 'spec.ingress[0].ports[0].port']],
    );
  });

  it('reads typed lists whose items omit kind and apiVersion (PodList, NetworkPolicyList)', () => {
    const r = load(`apiVersion: v1
kind: PodList
items:
- metadata: {name: a, namespace: prod}
  spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- metadata: {name: np, namespace: prod}
  spec: {podSelector: {}}
---
${NS_PROD}`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(
      r.pods.map((p) => p.ref.name),
      ['a'],
    );
    assert.deepEqual(
      r.policies.map((p) => p.ref.name),
      ['np'],
    );
  });

  it('reads JSON files, with lines', () => {
    const text = `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "np", "namespace": "prod"},
     "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Bogus"]}}
  ]
}`;
    const r = load(text, 'x.json');
    assert.equal(r.namespaces.length, 1);
    assert.deepEqual(
      errors(r).map((e) => [e.file, e.line, e.field]),
      [['x.json', 8, 'spec.policyTypes[1]']],
    );
  });

  it('gives JSON syntax errors with the JSON parser message and line', () => {
    const r = load('{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n}\n', 'bad.json');
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]?.file, 'bad.json');
    assert.equal(r.issues[0]?.line, 4);
    assert.match(r.issues[0]!.message, /^JSON syntax error/);
  });

  it('reports a YAML syntax error with its line and still loads the other documents', () => {
    const text = `${NS_PROD}---
apiVersion: v1
kind: Namespace
metadata: {name: [broken
---
apiVersion: v1
kind: Namespace
metadata: {name: after}
`;
    const r = load(text);
    assert.deepEqual(
      r.namespaces.map((n) => n.ref.name),
      ['prod', 'after'],
    );
    assert.ok(errors(r).length >= 1);
    for (const e of errors(r)) {
      assert.equal(e.file, 'm.yaml');
      assert.match(e.message, /YAML syntax error in document 2/);
      assert.ok(e.line !== undefined && e.line >= 7 && e.line <= 9, `line ${e.line}`);
    }
  });

  it('reports a duplicate object on the second definition and keeps the first', () => {
    const text = `${NS_PROD}---
${policy('  podSelector: {matchLabels: {a: first}}')}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np # <-
  namespace: prod
spec:
  podSelector: {}
`;
    const r = load(text);
    assert.equal(r.policies.length, 1);
    assert.deepEqual(r.policies[0]?.object.spec.podSelector, { matchLabels: { a: 'first' } });
    assert.deepEqual(
      errors(r).map((e) => [e.line, e.object, e.field]),
      [[markedLine(text), 'NetworkPolicy prod/np', 'metadata.name']],
    );
    assert.match(errors(r)[0]!.message, /defined twice.*m\.yaml:6/);
  });

  it('reports a workload pod whose name collides with a real pod', () => {
    const r = load(`${NS_PROD}---
${pod('  containers: [{name: c}]', 'deployment-web')}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  template:
    spec: {containers: [{name: c}]}
`);
    assert.equal(r.pods.length, 1);
    assert.equal(errors(r).length, 1);
    assert.equal(errors(r)[0]?.object, 'Deployment prod/web');
  });

  it('treats null fields as unset, as the API server does', () => {
    const r = load(`${NS_PROD}---\n${policy('  podSelector: {}\n  ingress:\n  - from:\n    ports:\n')}`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.policies[0]?.object.spec.ingress, [{}]);
  });
});

describe('defaulting', () => {
  const policyTypes: [string, string, string[]][] = [
    ['no rules', '  podSelector: {}', ['Ingress']],
    ['ingress rules only', '  podSelector: {}\n  ingress: [{}]', ['Ingress']],
    ['an empty egress list', '  podSelector: {}\n  egress: []', ['Ingress']],
    ['one egress rule', '  podSelector: {}\n  egress: [{}]', ['Ingress', 'Egress']],
    ['explicit policyTypes', '  podSelector: {}\n  egress: [{}]\n  policyTypes: [Egress]', ['Egress']],
  ];
  for (const [title, spec, expected] of policyTypes) {
    it(`defaults policyTypes to ${expected.join('+')} for ${title}`, () => {
      const r = load(`${NS_PROD}---\n${policy(spec)}`);
      assert.deepEqual(r.issues, []);
      assert.deepEqual(r.policies[0]?.object.spec.policyTypes, expected);
    });
  }

  it('defaults rule port protocols and container port protocols to TCP', () => {
    const r = load(`${NS_PROD}---
${policy('  podSelector: {}\n  ingress:\n  - ports: [{port: 80}, {port: 53, protocol: UDP}]\n  egress:\n  - ports: [{port: dns}]')}
---
${pod('  containers:\n  - name: c\n    ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]')}`);
    assert.deepEqual(r.issues, []);
    const spec = r.policies[0]!.object.spec;
    assert.deepEqual(spec.ingress?.[0]?.ports, [
      { port: 80, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
    ]);
    assert.deepEqual(spec.egress?.[0]?.ports, [{ port: 'dns', protocol: 'TCP' }]);
    assert.deepEqual(r.pods[0]?.object.spec.containers[0]?.ports, [
      { containerPort: 80, protocol: 'TCP' },
      { containerPort: 53, protocol: 'UDP' },
    ]);
  });

  it('puts objects without a namespace in default, or in the namespace given as an option', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n';
    assert.equal(load(text).pods[0]?.object.metadata.namespace, 'default');
    assert.deepEqual(load(text, 'm.yaml', { defaultNamespace: 'ci' }).pods[0]?.ref, {
      kind: 'Pod',
      namespace: 'ci',
      name: 'p',
    });
  });

  it('adds the kubernetes.io/metadata.name label to namespaces', () => {
    const r = load('apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: a}}\n');
    assert.deepEqual(r.namespaces[0]?.object.metadata.labels, {
      team: 'a',
      'kubernetes.io/metadata.name': 'prod',
    });
  });

  it('overrides a wrong kubernetes.io/metadata.name label with a warning', () => {
    const text = `apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    kubernetes.io/metadata.name: other # <-
`;
    const r = load(text);
    assert.deepEqual(r.namespaces[0]?.object.metadata.labels, { 'kubernetes.io/metadata.name': 'prod' });
    assert.deepEqual(
      warnings(r).map((w) => [w.line, w.object, w.field]),
      [[markedLine(text), 'Namespace prod', 'metadata.labels["kubernetes.io/metadata.name"]']],
    );
  });
});

describe('implied namespaces', () => {
  it('implies an undefined namespace with only its name label and warns once per namespace', () => {
    const text = `apiVersion: v1
kind: Pod
metadata:
  name: a
  namespace: shop # <-
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop}
spec: {containers: [{name: c}]}
---
${policy('  podSelector: {}')}
---
${NS_PROD}`;
    const r = load(text);
    assert.deepEqual(
      r.namespaces.map((n) => [n.ref.name, n.implied ?? false]),
      [
        ['prod', false],
        ['shop', true],
      ],
    );
    assert.deepEqual(r.namespaces[1]?.object.metadata.labels, { 'kubernetes.io/metadata.name': 'shop' });
    const w = warnings(r);
    assert.equal(w.length, 1);
    assert.equal(w[0]?.line, markedLine(text));
    assert.equal(w[0]?.object, 'Pod shop/a');
    assert.match(
      w[0]!.message,
      /namespace "shop" is not defined.*implied.*namespaceSelectors on other labels will not match it/,
    );
  });
});

describe('locate', () => {
  const text = `${NS_PROD}---
${policy(`  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
    - ipBlock:
        cidr: 10.0.0.0/8`)}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
    spec:
      containers:
      - name: web
        ports:
        - name: http
          containerPort: 80
`;
  const r = load(text);
  const np = { kind: 'NetworkPolicy', namespace: 'prod', name: 'np' };
  const table: [string, { kind: string; namespace?: string; name: string }, string, number | undefined][] = [
    ['an exact field', np, 'spec.ingress[0].from[1].ipBlock.cidr', 17],
    ['a list item', np, 'spec.ingress[0].from[1]', 16],
    ['the nearest ancestor of a missing field', np, 'spec.ingress[0].from[1].ipBlock.except[0]', 16],
    ['the object itself', np, '', 6],
    [
      'a pod made from a template, through the template',
      { kind: 'Pod', namespace: 'prod', name: 'deployment-web' },
      'spec.containers[0].ports[0].name',
      31,
    ],
    [
      'a template label with a dotted key',
      { kind: 'Pod', namespace: 'prod', name: 'deployment-web' },
      'metadata.labels["app.kubernetes.io/name"]',
      26,
    ],
    [
      'a dotted key written without quotes',
      { kind: 'Deployment', namespace: 'prod', name: 'web' },
      'spec.template.metadata.labels.app.kubernetes.io/name',
      26,
    ],
    ['an unknown object', { kind: 'Pod', namespace: 'prod', name: 'nope' }, 'spec', undefined],
  ];
  for (const [title, ref, path, line] of table) {
    it(`finds the line of ${title}`, () => {
      assert.deepEqual(r.locate(ref, path), line === undefined ? undefined : { file: 'm.yaml', line });
    });
  }
});

describe('validation: each rule names file, line, object and field, and skips only that object', () => {
  const cases: ErrorCase[] = [
    {
      title: 'an invalid selector operator',
      text: policy(
        '  podSelector:\n    matchExpressions:\n    - key: app\n      operator: Equals # <-\n      values: [a]',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchExpressions[0].operator',
      message: /^operator "Equals" is not valid; use In, NotIn, Exists or DoesNotExist$/,
    },
    {
      title: 'In without values',
      text: policy('  podSelector:\n    matchExpressions:\n    - key: app # <-\n      operator: In'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchExpressions[0].values',
      message: /operator In needs at least one value/,
    },
    {
      title: 'NotIn with an empty values list',
      text: policy(
        '  podSelector:\n    matchExpressions:\n    - key: app\n      operator: NotIn\n      values: [] # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchExpressions[0].values',
      message: /operator NotIn needs at least one value/,
    },
    {
      title: 'Exists with values',
      text: policy(
        '  podSelector:\n    matchExpressions:\n    - key: app\n      operator: Exists\n      values: [a] # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchExpressions[0].values',
      message: /operator Exists must not have values/,
    },
    {
      title: 'DoesNotExist with values',
      text: policy(
        '  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchExpressions:\n        - key: app\n          operator: DoesNotExist\n          values: [a] # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values',
      message: /operator DoesNotExist must not have values/,
    },
    {
      title: 'an invalid selector key',
      text: policy('  podSelector:\n    matchExpressions:\n    - key: -bad # <-\n      operator: Exists'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchExpressions[0].key',
      message: /label key "-bad" is not valid/,
    },
    {
      title: 'an invalid matchLabels key',
      text: policy('  podSelector:\n    matchLabels:\n      Bad_Prefix.io/app: x # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchLabels["Bad_Prefix.io/app"]',
      message: /label key prefix "Bad_Prefix.io" must be a DNS subdomain/,
    },
    {
      title: 'an invalid matchLabels value',
      text: policy('  podSelector:\n    matchLabels:\n      app: "a b" # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchLabels.app',
      message: /label value "a b" is not valid/,
    },
    {
      title: 'a label value longer than 63 characters',
      text: policy(`  podSelector:\n    matchLabels:\n      app: ${'a'.repeat(64)} # <-`),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchLabels.app',
      message: /longer than 63 characters/,
    },
    {
      title: 'a label value that is not a string',
      text: policy('  podSelector:\n    matchLabels:\n      enabled: true # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.podSelector.matchLabels.enabled',
      message: /label values must be strings: quote/,
    },
    {
      title: 'an unknown policy type',
      text: policy('  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Sideways # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.policyTypes[1]',
      message: /policy type "Sideways" is not valid; use Ingress or Egress/,
    },
    {
      title: 'an empty peer',
      text: policy('  podSelector: {}\n  ingress:\n  - from:\n    - {} # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].from[0]',
      message: /a peer must set at least one of podSelector, namespaceSelector or ipBlock/,
    },
    {
      title: 'ipBlock combined with a selector',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - podSelector: {}\n      ipBlock: # <-\n        cidr: 10.0.0.0/8',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock',
      message: /ipBlock cannot be combined with podSelector or namespaceSelector/,
    },
    {
      title: 'an invalid cidr',
      text: policy('  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/33 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.cidr',
      message: /prefix length "33" must be a number 0-32/,
    },
    {
      title: 'a missing cidr',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: # <-\n        except: [10.0.0.0/8]',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.cidr',
      message: /cidr is required/,
    },
    {
      title: 'a cidr with IPv4 leading zeros',
      text: policy('  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 010.0.0.0/8 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.cidr',
      message: /leading zeros.*write 10\.0\.0\.0\/8/,
    },
    {
      title: 'an invalid IPv6 cidr',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: "2001:db8:::/32" # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.cidr',
      message: /not a CIDR/,
    },
    {
      title: 'an except outside the cidr',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n        except:\n        - 10.0.1.0/24\n        - 10.1.0.0/24 # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.except[1]',
      message: /except "10\.1\.0\.0\/24" must be a strict subset of cidr "10\.0\.0\.0\/16"/,
    },
    {
      title: 'an except equal to the cidr',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n        except: [10.0.0.0/16] # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.except[0]',
      message: /strict subset/,
    },
    {
      title: 'an except of the other family',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: ["fd00::/8"] # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.except[0]',
      message: /except "fd00::\/8" is IPv6 but cidr "10\.0\.0\.0\/8" is IPv4/,
    },
    {
      title: 'an invalid except',
      text: policy(
        '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.0.0/24] # <-',
      ),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].to[0].ipBlock.except[0]',
      message: /not a CIDR/,
    },
    {
      title: 'an unknown protocol',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: HTTP # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].protocol',
      message: /protocol "HTTP" is not valid; use TCP, UDP or SCTP$/,
    },
    {
      title: 'a lower-case protocol',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: tcp # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].protocol',
      message: /upper case: TCP/,
    },
    {
      title: 'port 0',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /port 0 is out of range; use 1-65535/,
    },
    {
      title: 'port 65536',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: 65536 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /port 65536 is out of range/,
    },
    {
      title: 'a port that is neither number nor name',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: [80] # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /must be a port number or a port name/,
    },
    {
      title: 'a named port with upper case',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: HTTP # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /port name "HTTP" is not a valid IANA service name.*lower-case/,
    },
    {
      title: 'a named port without a letter',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: "8080" # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /at least one letter/,
    },
    {
      title: 'a named port with a double dash',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: a--b # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /no '--'/,
    },
    {
      title: 'a named port longer than 15 characters',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: abcdefghijklmnop # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].port',
      message: /1-15 characters/,
    },
    {
      title: 'endPort without port',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - endPort: 90 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].endPort',
      message: /endPort requires port/,
    },
    {
      title: 'endPort with a named port',
      text: policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: http\n      endPort: 90 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.ingress[0].ports[0].endPort',
      message: /endPort requires a numeric port, not the named port "http"/,
    },
    {
      title: 'endPort below port',
      text: policy('  podSelector: {}\n  egress:\n  - ports:\n    - port: 443\n      endPort: 80 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].ports[0].endPort',
      message: /endPort 80 must be greater than or equal to port 443/,
    },
    {
      title: 'endPort above 65535',
      text: policy('  podSelector: {}\n  egress:\n  - ports:\n    - port: 443\n      endPort: 70000 # <-'),
      object: 'NetworkPolicy prod/np',
      field: 'spec.egress[0].ports[0].endPort',
      message: /endPort 70000 is out of range/,
    },
    {
      title: 'a missing name',
      text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: # <-\n  namespace: prod\nspec: {podSelector: {}}\n',
      object: 'NetworkPolicy prod/(no name)',
      field: 'metadata.name',
      message: /metadata\.name is required/,
    },
    {
      title: 'a name that is not a DNS subdomain',
      text: policy('  podSelector: {}', 'Allow_All # <-'),
      object: 'NetworkPolicy prod/Allow_All',
      field: 'metadata.name',
      message: /not a valid DNS-1123 subdomain/,
    },
    {
      title: 'a namespace name that is not a DNS label',
      text: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b # <-\n',
      object: 'Namespace a.b',
      field: 'metadata.name',
      message: /not a valid DNS-1123 label/,
    },
    {
      title: 'an invalid metadata.namespace',
      text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: Prod # <-\nspec: {containers: [{name: c}]}\n',
      object: 'Pod Prod/p',
      field: 'metadata.namespace',
      message: /namespace "Prod" is not a valid DNS-1123 label/,
    },
    {
      title: 'an invalid object label',
      text: pod('  containers: [{name: c}]').replace(
        '  namespace: prod\n',
        '  namespace: prod\n  labels:\n    "": x # <-\n',
      ),
      object: 'Pod prod/p',
      field: 'metadata.labels[""]',
      message: /empty name/,
    },
    {
      title: 'a container without a name',
      text: pod('  containers:\n  - image: nginx # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[0].name',
      message: /name is required/,
    },
    {
      title: 'no containers',
      text: pod('  containers: [] # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers',
      message: /at least one container/,
    },
    {
      title: 'containerPort 0',
      text: pod('  containers:\n  - name: c\n    ports:\n    - containerPort: 0 # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[0].ports[0].containerPort',
      message: /containerPort 0 is out of range; use 1-65535/,
    },
    {
      title: 'containerPort 65536',
      text: pod('  containers:\n  - name: c\n    ports:\n    - containerPort: 65536 # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[0].ports[0].containerPort',
      message: /out of range/,
    },
    {
      title: 'a containerPort given as a string',
      text: pod('  containers:\n  - name: c\n    ports:\n    - containerPort: "80" # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[0].ports[0].containerPort',
      message: /must be a number, not the string "80"/,
    },
    {
      title: 'an invalid container port name',
      text: pod('  containers:\n  - name: c\n    ports:\n    - containerPort: 80\n      name: -web # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[0].ports[0].name',
      message: /no '-' at the start or end/,
    },
    {
      title: 'a container port name used twice in one container',
      text: pod(
        '  containers:\n  - name: a\n    ports:\n    - {containerPort: 80, name: web}\n    - containerPort: 81\n      name: web # <-',
      ),
      object: 'Pod prod/p',
      field: 'spec.containers[0].ports[1].name',
      message: /port name "web" is used twice in this container/,
    },
    {
      title: 'an invalid container port protocol',
      text: pod('  containers:\n  - name: c\n    ports:\n    - containerPort: 80\n      protocol: ICMP # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[0].ports[0].protocol',
      message: /protocol "ICMP" is not valid/,
    },
    {
      title: 'a duplicate container name',
      text: pod('  containers:\n  - name: c\n  - name: c # <-'),
      object: 'Pod prod/p',
      field: 'spec.containers[1].name',
      message: /container name "c" is used twice/,
    },
    {
      title: 'an invalid podIP',
      text: pod('  containers: [{name: c}]', 'p', '\nstatus:\n  podIP: 10.0.0.256 # <-\n'),
      object: 'Pod prod/p',
      field: 'status.podIP',
      message: /greater than 255/,
    },
    {
      title: 'an invalid IP in podIPs',
      text: pod(
        '  containers: [{name: c}]',
        'p',
        '\nstatus:\n  podIPs:\n  - ip: 10.0.0.1\n  - ip: "fd00::1%eth0" # <-\n',
      ),
      object: 'Pod prod/p',
      field: 'status.podIPs[1].ip',
      message: /zone id/,
    },
    {
      title: 'a bad port in a Deployment template',
      text: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  template:
    spec:
      containers:
      - name: web
        ports:
        - containerPort: 0 # <-
`,
      object: 'Deployment prod/web',
      field: 'spec.template.spec.containers[0].ports[0].containerPort',
      message: /out of range/,
    },
    {
      title: 'a bad label in a CronJob template',
      text: `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: prod}
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          labels:
            app: "-x" # <-
        spec:
          containers: [{name: c}]
`,
      object: 'CronJob prod/nightly',
      field: 'spec.jobTemplate.spec.template.metadata.labels.app',
      message: /label value "-x" is not valid/,
    },
    {
      title: 'a StatefulSet name that is not a DNS label',
      text: `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db.primary # <-
  namespace: prod
spec:
  template:
    spec: {containers: [{name: c}]}
`,
      object: 'StatefulSet prod/db.primary',
      field: 'metadata.name',
      message: /DNS-1123 label/,
    },
  ];
  for (const c of cases) {
    it(`reports ${c.title}`, () => {
      assertOnlyError(c);
    });
  }

  it('loads the good objects around a bad one', () => {
    const r = load(`${NS_PROD}---
${policy('  podSelector: {}', 'good-a')}
---
${policy('  podSelector:\n    matchExpressions: [{key: a, operator: Equals}]', 'bad')}
---
${policy('  podSelector: {}', 'good-b')}
`);
    assert.deepEqual(
      r.policies.map((p) => p.ref.name),
      ['good-a', 'good-b'],
    );
    assert.deepEqual(
      errors(r).map((e) => e.object),
      ['NetworkPolicy prod/bad'],
    );
  });

  it('reports every problem of a bad object, not only the first', () => {
    const r = load(
      `${NS_PROD}---\n${policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n      protocol: HTTP\n    from:\n    - {}')}`,
    );
    assert.deepEqual(
      errors(r).map((e) => e.field),
      ['spec.ingress[0].ports[0].protocol', 'spec.ingress[0].ports[0].port', 'spec.ingress[0].from[0]'],
    );
  });

  it('warns about unknown fields and still loads the object', () => {
    const text = `${NS_PROD}---\n${policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n      portRange: 90 # <-')}`;
    const r = load(text);
    assert.equal(r.policies.length, 1);
    assert.deepEqual(
      r.issues.map((i) => [i.severity, i.line, i.field]),
      [['warning', markedLine(text), 'spec.ingress[0].ports[0].portRange']],
    );
    assert.equal(
      r.issues[0]?.message,
      'unknown field "portRange" is ignored (a newer API field, or a typo?)',
    );
  });

  it('suggests the field an unknown field is probably a typo of', () => {
    const r = load(
      `${NS_PROD}---\n${policy('  podSelector: {}\n  ingres: [{}]\n  egress:\n  - to:\n    - ipblock: {cidr: 10.0.0.0/8}\n      podSelector: {}')}`,
    );
    assert.deepEqual(
      r.issues.map((i) => [i.field, i.message]),
      [
        ['spec.egress[0].to[0].ipblock', 'unknown field "ipblock" is ignored; did you mean "ipBlock"?'],
        ['spec.ingres', 'unknown field "ingres" is ignored; did you mean "ingress"?'],
      ],
    );
  });

  it('rejects a cidr or except with host bits set, as the API server does since 1.36', () => {
    const r = load(
      `${NS_PROD}---\n${policy('  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.1.2.3/8, except: [10.1.0.1/16]}')}`,
    );
    assert.equal(r.policies.length, 0);
    assert.deepEqual(
      r.issues.map((i) => [i.severity, i.field]),
      [
        ['error', 'spec.egress[0].to[0].ipBlock.cidr'],
        ['error', 'spec.egress[0].to[0].ipBlock.except[0]'],
      ],
    );
    assert.match(r.issues[0]!.message, /host bits set, which the API server rejects; write 10\.0\.0\.0\/8/);
    assert.match(r.issues[1]!.message, /write 10\.1\.0\.0\/16/);
  });

  for (const [title, spec] of [
    ['without podSelector', '  policyTypes: [Ingress]'],
    ['with spec: {}', null],
    ['without spec', undefined],
  ] as const) {
    it(`reads a NetworkPolicy ${title} as the API server does: podSelector {} (every pod), Ingress`, () => {
      const head =
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\n  namespace: prod\n';
      const text =
        spec === undefined ? head : spec === null ? `${head}spec: {}\n` : `${head}spec:\n${spec}\n`;
      const r = load(`${NS_PROD}---\n${text}`);
      assert.deepEqual(r.issues, []);
      assert.deepEqual(r.policies[0]?.object.spec, { podSelector: {}, policyTypes: ['Ingress'] });
    });
  }

  const validEdgeCases: [string, string][] = [
    [
      'a policy type listed twice (the API server accepts it)',
      '  podSelector: {}\n  policyTypes: [Egress, Egress]',
    ],
    ['port 1 and endPort 65535', '  podSelector: {}\n  ingress:\n  - ports: [{port: 1, endPort: 65535}]'],
    ['endPort equal to port', '  podSelector: {}\n  ingress:\n  - ports: [{port: 80, endPort: 80}]'],
    [
      'an IPv6 ipBlock with an except on its boundary',
      '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: "fd00::/8", except: ["fd00::/9", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]}',
    ],
    [
      'an except at the end of the cidr',
      '  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [255.255.255.255/32, 0.0.0.0/1]}',
    ],
    [
      'Exists with an empty values list',
      '  podSelector:\n    matchExpressions: [{key: a, operator: Exists, values: []}]',
    ],
    ['a prefixed label key', '  podSelector:\n    matchLabels: {app.kubernetes.io/name: web, x: ""}'],
    ['SCTP and a named port', '  podSelector: {}\n  ingress:\n  - ports: [{port: my-port1, protocol: SCTP}]'],
  ];
  for (const [title, spec] of validEdgeCases) {
    it(`accepts ${title}`, () => {
      const r = load(`${NS_PROD}---\n${policy(spec)}`);
      assert.deepEqual(r.issues, []);
      assert.equal(r.policies.length, 1);
    });
  }
});

describe('robustness', () => {
  const bad: [string, string, RegExp][] = [
    ['a document that is a list', '- a\n- b\n', /expected an object with apiVersion and kind, found a list/],
    ['a document that is a string', 'hello\n', /found string/],
    [
      'a missing apiVersion',
      'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n',
      /apiVersion is required; use v1 for Pod/,
    ],
    ['an unresolved alias', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: *nothing}\n', /YAML/],
    ['a List without items as a list', 'apiVersion: v1\nkind: List\nitems: {a: 1}\n', /List needs items/],
  ];
  for (const [title, text, message] of bad) {
    it(`reports ${title} as an error value, without throwing`, () => {
      const r = load(text);
      assert.equal(errors(r).length, 1, JSON.stringify(r.issues));
      assert.match(errors(r)[0]!.message, message);
      assert.equal(errors(r)[0]?.file, 'm.yaml');
      assert.equal(typeof errors(r)[0]?.line, 'number');
    });
  }

  it('does not warn about pod spec fields netaudit does not read', () => {
    const r = load(`${NS_PROD}---
${pod(`  hostNetwork: true
  nodeName: node-1
  volumes: [{name: v, emptyDir: {}}]
  securityContext: {runAsNonRoot: true}
  containers:
  - name: c
    image: nginx
    resources: {limits: {cpu: 100m}}
    ports: [{containerPort: 80, hostPort: 8080}]`)}`);
    assert.deepEqual(r.issues, []);
    assert.equal(r.pods[0]?.object.spec.hostNetwork, true);
    assert.equal(r.pods[0]?.object.spec.nodeName, 'node-1');
  });

  it('names the file of each issue and points duplicates across files at the first file', () => {
    const text = `${NS_PROD}---\n${policy('  podSelector: {}')}\n`;
    const r = parseManifests([
      { file: 'one.yaml', text },
      { file: 'two.yaml', text },
    ]);
    assert.equal(r.policies.length, 1);
    assert.deepEqual(
      errors(r).map((e) => [e.file, e.object]),
      [
        ['two.yaml', 'Namespace prod'],
        ['two.yaml', 'NetworkPolicy prod/np'],
      ],
    );
    assert.match(errors(r)[1]!.message, /one\.yaml:6/);
  });

  it('locates fields of namespaces', () => {
    const r = load('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels:\n    team: a\n');
    assert.deepEqual(r.locate({ kind: 'Namespace', name: 'prod' }, 'metadata.labels.team'), {
      file: 'm.yaml',
      line: 6,
    });
  });

  it('accepts an empty input', () => {
    const r = parseManifests([
      { file: 'a.yaml', text: '' },
      { file: 'b.yaml', text: '---\n# nothing\n' },
    ]);
    assert.deepEqual([r.namespaces, r.pods, r.policies, r.issues, r.skipped], [[], [], [], [], {}]);
  });
});
