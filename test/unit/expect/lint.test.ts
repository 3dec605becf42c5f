// Policy lint: one case per rule id that must fire, and one close case that must not, on small
// hand-written inputs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkPolicy, NetworkPolicySpec, Pod } from '../../../src/core/k8s.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { lint } from '../../../src/expect/lint.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { namespace, pod, policy } from '../../support/fixtures.ts';

const web = pod('shop/web', { labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] });
const api = pod('shop/api', { labels: { app: 'api' } });
const dns = pod('kube-system/coredns', { labels: { k8s: 'dns' } });

function ids(policies: NetworkPolicy[], pods: Pod[] = [web, api, dns], rule?: string): string[] {
  const engine = ExpectationEngine.from(
    { namespaces: [namespace('shop', { team: 'a' }), namespace('kube-system')], pods, policies },
    PROFILES.generic,
  );
  return lint(engine)
    .filter((f) => rule === undefined || f.rule.id === rule)
    .map((f) => `${f.rule.id} ${f.object.namespace}/${f.object.name} ${f.field ?? ''}`.trim());
}

const only = (spec: NetworkPolicySpec) => policy('shop/p', spec);

describe('lint', () => {
  test('NA001: a policy that selects no pod; not when it selects one', () => {
    assert.deepEqual(
      ids([only({ podSelector: { matchLabels: { app: 'wbe' } }, policyTypes: ['Ingress'] })]),
      ['NA001 shop/p spec.podSelector'],
    );
    assert.deepEqual(ids([only({ podSelector: {}, policyTypes: ['Ingress'] })]), []);
  });

  test('NA002: a namespaceSelector matching no namespace, a podSelector matching no pod', () => {
    assert.deepEqual(
      ids([
        only({
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
        }),
      ]),
      ['NA002 shop/p spec.ingress[0].from[0].namespaceSelector'],
    );
    assert.deepEqual(
      ids([
        only({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'apy' } } }] }] }),
      ]),
      ['NA002 shop/p spec.ingress[0].from[0].podSelector'],
    );
    assert.deepEqual(
      ids([
        only({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] }),
      ]),
      [],
    );
  });

  test('NA002 stays quiet without namespaces or pods to judge against (templates only)', () => {
    const engine = ExpectationEngine.from(
      {
        namespaces: [],
        pods: [],
        policies: [
          only({
            podSelector: {},
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
          }),
        ],
      },
      PROFILES.generic,
    );
    assert.deepEqual(lint(engine), []);
  });

  test('NA003: an ipBlock wholly excepted by its excepts together; not one with room left', () => {
    const block = (except: string[]) =>
      only({
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except } }] }],
      });
    assert.deepEqual(ids([block(['10.0.0.0/25', '10.0.0.128/25'])]), [
      'NA003 shop/p spec.ingress[0].from[0]',
    ]);
    assert.deepEqual(ids([block(['10.0.0.0/25'])]), []);
  });

  test('NA004: a named port no destination pod defines, with its protocol', () => {
    const named = (name: string, protocol: 'TCP' | 'UDP' = 'TCP') =>
      only({
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ ports: [{ port: name, protocol }] }],
      });
    const na004 = (p: NetworkPolicy) => ids([p], undefined, 'NA004');
    assert.deepEqual(na004(named('htpp')), ['NA004 shop/p spec.ingress[0].ports[0]']);
    assert.deepEqual(na004(named('http', 'UDP')), ['NA004 shop/p spec.ingress[0].ports[0]']);
    assert.deepEqual(na004(named('http')), []);
  });

  test('NA005: egress isolation without a way to DNS; not with a port 53 rule', () => {
    const egress = (rules: NetworkPolicySpec['egress']) =>
      only({ podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: rules });
    assert.deepEqual(ids([egress([{ ports: [{ port: 443 }] }])], undefined, 'NA005'), [
      'NA005 shop/p spec.egress',
    ]);
    assert.deepEqual(
      ids(
        [
          egress([
            { ports: [{ port: 443 }] },
            {
              to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
              ports: [{ port: 53, protocol: 'UDP' }],
            },
          ]),
        ],
        undefined,
        'NA005',
      ),
      [],
    );
  });

  test('NA006: some pods of a namespace isolated and others not', () => {
    assert.deepEqual(
      ids([only({ podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] })]),
      ['NA006 shop/p spec.podSelector'],
    );
  });

  test('NA007 and NA008: a repeated rule, a rule another already covers', () => {
    const from = (app: string) => ({
      from: [{ podSelector: { matchLabels: { app } } }],
      ports: [{ port: 80 }],
    });
    assert.deepEqual(ids([only({ podSelector: {}, ingress: [from('api'), from('api')] })]), [
      'NA007 shop/p spec.ingress[1]',
    ]);
    assert.deepEqual(
      ids([
        only({
          podSelector: {},
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }, from('api')],
        }),
      ]),
      ['NA008 shop/p spec.ingress[1]'],
    );
    assert.deepEqual(ids([only({ podSelector: {}, ingress: [from('api'), from('web')] })]), []);
  });
});
