// ClusterNetworkPolicy cases the conformance suite leaves out, each from the API reference
// (network-policy-api v0.2.0 apis/v1alpha2/clusternetworkpolicy_types.go): equal priorities, peers
// that cannot be evaluated offline, fail-closed peers, tiers against NetworkPolicy isolation, and the
// compile issues (field paths) of invalid objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterNetworkPolicy, NetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import { parseIpLiteral } from '../../../src/policy/cidr.ts';
import { compileClusterPolicy } from '../../../src/policy/compile-cluster.ts';
import { evaluate } from '../../../src/policy/evaluate.ts';
import { explain } from '../../../src/policy/explain.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { buildSnapshot, evalContext, podInfo } from '../../../src/policy/snapshot.ts';
import { type Endpoint, formatRuleRef, type Verdict } from '../../../src/policy/types.ts';

const pod = (ns: string, name: string, ip?: string): Pod => ({
  metadata: { namespace: ns, name, labels: { app: name } },
  spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }] }] },
  ...(ip ? { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } : {}),
});
const PODS = [pod('a', 'web', '10.0.0.1'), pod('b', 'db', '10.0.0.2'), pod('b', 'noip')];
const cnp = (name: string, spec: Partial<ClusterNetworkPolicy['spec']>): ClusterNetworkPolicy => ({
  metadata: { name },
  spec: { tier: 'Admin', priority: 10, subject: { namespaces: {} }, ...spec },
});

function verdict(
  clusterPolicies: ClusterNetworkPolicy[],
  from: string,
  to: string,
  policies: NetworkPolicy[] = [],
): { v: Verdict; lines: string[] } {
  const { snapshot, issues } = buildSnapshot(
    { namespaces: [], pods: PODS, policies, clusterPolicies },
    PROFILES.generic,
  );
  assert.deepEqual(issues, []);
  const info = (key: string) => {
    const c = podInfo(
      PODS.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === key) as Pod,
      PROFILES.generic,
    );
    assert.ok(c.kind === 'pod');
    return c.pod;
  };
  let target: Endpoint;
  if (to.startsWith('ip:')) {
    const ip = parseIpLiteral(to.slice(3));
    assert.ok(ip.ok);
    target = { kind: 'external', ip: ip.value, text: to.slice(3) };
  } else target = { kind: 'pod', pod: info(to) };
  const ctx = evalContext(snapshot);
  const traffic = { from: info(from), to: target, port: 80, protocol: 'TCP' as const };
  const v = evaluate(ctx, traffic);
  return { v, lines: explain(ctx, traffic, v) };
}

describe('priority', () => {
  test('a lower priority value is tried first', () => {
    const { v } = verdict(
      [
        cnp('deny-later', { priority: 20, egress: [{ action: 'Deny', to: [{ namespaces: {} }] }] }),
        cnp('accept-first', { priority: 5, egress: [{ action: 'Accept', to: [{ namespaces: {} }] }] }),
      ],
      'a/web',
      'b/db',
    );
    assert.equal(v.egress.allowed, true);
    assert.deepEqual(v.egress.allowedBy.map(formatRuleRef), ['clusternetworkpolicy/accept-first#egress[0]']);
  });

  test('equal priorities whose matching rules agree decide, naming every rule', () => {
    const { v } = verdict(
      [
        cnp('one', { ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
        cnp('two', {
          ingress: [{ action: 'Deny', from: [{ pods: { podSelector: { matchLabels: { app: 'web' } } } }] }],
        }),
      ],
      'a/web',
      'b/db',
    );
    assert.equal(v.allowed, false);
    assert.deepEqual(v.ingress.deniedBy?.map(formatRuleRef), [
      'clusternetworkpolicy/one#ingress[0]',
      'clusternetworkpolicy/two#ingress[0]',
    ]);
    assert.equal(v.ingress.undetermined, undefined);
  });

  test('equal priorities whose matching rules disagree are undetermined, not guessed', () => {
    const { v, lines } = verdict(
      [
        cnp('accept', { ingress: [{ action: 'Accept', from: [{ namespaces: {} }] }] }),
        cnp('deny', { ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
      ],
      'a/web',
      'b/db',
    );
    assert.deepEqual(v.ingress.undetermined, {
      why: 'equal-priority',
      rules: [
        {
          policy: { namespace: '', name: 'accept', kind: 'ClusterNetworkPolicy' },
          direction: 'ingress',
          index: 0,
        },
        {
          policy: { namespace: '', name: 'deny', kind: 'ClusterNetworkPolicy' },
          direction: 'ingress',
          index: 0,
        },
      ],
    });
    assert.match(lines.join('\n'), /CANNOT BE DECIDED OFFLINE: policies of equal priority disagree/);
  });
});

describe('peers that cannot be evaluated offline', () => {
  test('a nodes peer never matches a pod, and is undetermined for an external address', () => {
    const policies = [cnp('nodes', { egress: [{ action: 'Deny', to: [{ nodes: {} }] }] })];
    assert.equal(verdict(policies, 'a/web', 'b/db').v.allowed, true);
    const ext = verdict(policies, 'a/web', 'ip:203.0.113.8').v.egress;
    assert.equal(ext.undetermined?.why, 'node-peer');
    assert.equal(ext.allowed, false);
  });

  test('a domainNames peer is undetermined for an external address', () => {
    const policies = [
      cnp('fqdn', { egress: [{ action: 'Accept', to: [{ domainNames: ['*.example.com'] }] }] }),
    ];
    assert.equal(verdict(policies, 'a/web', 'ip:203.0.113.8').v.egress.undetermined?.why, 'domain-peer');
  });

  test('a networks peer decides on the pod IP, and is undetermined for a pod without one', () => {
    const policies = [cnp('nets', { egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.2/32'] }] }] })];
    assert.equal(verdict(policies, 'a/web', 'b/db').v.allowed, false);
    assert.equal(verdict(policies, 'b/db', 'a/web').v.allowed, true);
    assert.equal(verdict(policies, 'a/web', 'b/noip').v.egress.undetermined?.why, 'pod-without-ip');
  });

  test('a later rule that surely matches does not rescue an earlier unknown one', () => {
    const policies = [
      cnp('mixed', {
        egress: [
          { action: 'Accept', to: [{ domainNames: ['example.com'] }] },
          { action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] },
        ],
      }),
    ];
    assert.equal(verdict(policies, 'a/web', 'ip:203.0.113.8').v.egress.undetermined?.why, 'domain-peer');
    // A pod is never a domain name's: the Deny decides.
    assert.equal(verdict(policies, 'a/web', 'b/db').v.egress.deniedBy?.length, 1);
  });
});

describe('tiers around NetworkPolicy', () => {
  const isolateDb: NetworkPolicy = {
    metadata: { namespace: 'b', name: 'only-web' },
    spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 443 }] }] },
  };
  const baselineAccept = cnp('baseline', {
    tier: 'Baseline',
    ingress: [{ action: 'Accept', from: [{ namespaces: {} }] }],
  });

  test('Baseline applies only where no NetworkPolicy isolates', () => {
    const { v, lines } = verdict([baselineAccept], 'a/web', 'b/db', [isolateDb]);
    assert.equal(v.allowed, false);
    assert.equal(v.ingress.tier, undefined);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('    ')),
      [
        // egress from a/web: nothing selects it in any tier
        '    1. Admin ClusterNetworkPolicy: no rule matches',
        '    2. NetworkPolicy: no rule matches',
        '    3. Baseline ClusterNetworkPolicy: no rule matches',
        '    no tier decided: allowed (the Kubernetes default)',
        // ingress to b/db: the NetworkPolicy isolates it, so the Baseline Accept is never reached
        '    1. Admin ClusterNetworkPolicy: no rule matches',
        '    2. NetworkPolicy: denied: isolated by b/only-web, no rule matches',
        '    3. Baseline ClusterNetworkPolicy: not reached',
      ],
    );
    assert.equal(verdict([baselineAccept], 'a/web', 'b/db').v.ingress.tier, 'Baseline');
  });

  test('an Admin Deny overrides a NetworkPolicy allow', () => {
    const allow: NetworkPolicy = {
      metadata: { namespace: 'b', name: 'allow-all' },
      spec: { podSelector: {}, ingress: [{}] },
    };
    const { v } = verdict(
      [cnp('deny', { ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] })],
      'a/web',
      'b/db',
      [allow],
    );
    assert.equal(v.allowed, false);
    assert.equal(v.ingress.tier, 'Admin');
  });

  test('subject by pods selects only matching pods of matching namespaces', () => {
    const policies = [
      cnp('db-only', {
        subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } } },
        ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }],
      }),
    ];
    assert.equal(verdict(policies, 'a/web', 'b/db').v.allowed, false);
    assert.equal(verdict(policies, 'b/db', 'a/web').v.allowed, true);
  });
});

describe('compile', () => {
  test('invalid fields are reported with their paths', () => {
    const c = compileClusterPolicy({
      metadata: { name: 'bad' },
      spec: {
        tier: 'Platform',
        priority: 1001,
        subject: { namespaces: {}, pods: { podSelector: {} } },
        ingress: [
          { action: 'Allow', from: [{ networks: ['10.0.0.0/8'] }] },
          { action: 'Deny', from: [] },
        ],
        egress: [
          { action: 'Deny', to: [{ domainNames: ['example.com'] }] },
          {
            action: 'Accept',
            to: [{ namespaces: {} }],
            protocols: [{ tcp: { destinationPort: { range: { start: 90, end: 80 } } } }],
          },
        ],
      },
    });
    assert.ok(!c.ok);
    assert.deepEqual(
      c.issues.map((i) => i.field),
      [
        'spec.tier',
        'spec.priority',
        'spec.subject',
        'spec.ingress[0].action',
        'spec.ingress[0].from[0].networks',
        'spec.ingress[1].from',
        'spec.egress[0].to[0].domainNames',
        'spec.egress[1].protocols[0].tcp.destinationPort.range',
      ],
    );
  });

  test('a peer with no known field fails closed: Accept matches nothing, Deny and Pass deny everything', () => {
    const c = compileClusterPolicy(
      cnp('future', {
        ingress: [
          { action: 'Accept', from: [{}] },
          { action: 'Pass', from: [{}] },
        ],
      }),
    );
    assert.ok(c.ok);
    assert.deepEqual(c.policy.ingress[0]?.peers, []);
    assert.equal(c.policy.ingress[1]?.action, 'Deny');
    assert.equal(c.warnings.length, 2);
  });
});
