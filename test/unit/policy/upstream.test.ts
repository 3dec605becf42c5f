// Scenarios of the upstream conformance suite (kubernetes test/e2e/network/netpol/network_policy.go),
// on its model: namespaces x, y, z (labelled ns=<name>), pods a, b, c (labelled pod=<name>),
// container ports serve-80-tcp, serve-80-udp, serve-81-tcp, serve-81-udp. Expectations are written the
// upstream way: a default plus the overrides each scenario makes, checked on every pod pair.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkPolicy } from '../../../src/core/k8s.ts';
import type { Protocol } from '../../../src/core/traffic.ts';
import { name, ns, policy, reachabilityDiff, upstreamModel, world } from '../../support/fixtures.ts';

const model = upstreamModel();

function check(
  policies: NetworkPolicy[],
  expect: (from: string, to: string, port: number, protocol: Protocol) => boolean,
  ports: [number, Protocol][] = [
    [80, 'TCP'],
    [81, 'TCP'],
    [80, 'UDP'],
    [81, 'UDP'],
  ],
): void {
  const w = world({ namespaces: model.namespaces, pods: model.pods, policies });
  const diffs = ports.flatMap(([port, protocol]) =>
    reachabilityDiff(w, model.keys, port, protocol, (f, t) => expect(f, t, port, protocol)),
  );
  assert.deepEqual(diffs, []);
}

describe('upstream conformance scenarios', () => {
  test('no policy allows everything', () => check([], () => true));

  test('default-deny-ingress denies all ingress to namespace x and nothing else', () =>
    check(
      [policy('x/deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })],
      (_f, t) => ns(t) !== 'x',
    ));

  test('default-deny-all (ingress and egress) cuts x off in both directions', () =>
    check(
      [policy('x/deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
      (f, t) => ns(f) !== 'x' && ns(t) !== 'x',
    ));

  test('egress deny-all in x blocks every flow out of x', () =>
    check([policy('x/deny-egress', { podSelector: {}, policyTypes: ['Egress'] })], (f) => ns(f) !== 'x'));

  test('allow ingress to x/a from namespace y only (namespaceSelector)', () =>
    check(
      [
        policy('x/allow-ns-y', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
        }),
      ],
      (f, t) => t !== 'x/a' || ns(f) === 'y',
    ));

  test('podSelector AND namespaceSelector in one peer admits only pod b of namespace y', () =>
    check(
      [
        policy('x/allow-yb', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { ns: 'y' } },
                  podSelector: { matchLabels: { pod: 'b' } },
                },
              ],
            },
          ],
        }),
      ],
      (f, t) => t !== 'x/a' || f === 'y/b',
    ));

  test('podSelector OR namespaceSelector in two peers admits namespace y and pod b of x', () =>
    check(
      [
        policy('x/allow-y-or-b', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [
            {
              from: [
                { namespaceSelector: { matchLabels: { ns: 'y' } } },
                { podSelector: { matchLabels: { pod: 'b' } } },
              ],
            },
          ],
        }),
      ],
      (f, t) => t !== 'x/a' || ns(f) === 'y' || f === 'x/b',
    ));

  test('matchExpressions In on the namespace selects namespace y', () =>
    check(
      [
        policy('x/allow-expr', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [
            {
              from: [
                { namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] } },
              ],
            },
          ],
        }),
      ],
      (f, t) => t !== 'x/a' || ns(f) === 'y',
    ));

  test('matchExpressions NotIn on pods admits every pod of x but a and b', () =>
    check(
      [
        policy('x/allow-notin', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [
            {
              from: [
                {
                  podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a', 'b'] }] },
                },
              ],
            },
          ],
        }),
      ],
      (f, t) => t !== 'x/a' || f === 'x/c',
    ));

  test('matchExpressions Exists on the policy podSelector isolates every pod of x', () =>
    check(
      [
        policy('x/deny-labelled', {
          podSelector: { matchExpressions: [{ key: 'pod', operator: 'Exists' }] },
          policyTypes: ['Ingress'],
        }),
      ],
      (_f, t) => ns(t) !== 'x',
    ));

  test('named port serve-81-tcp admits TCP 81 only', () =>
    check(
      [
        policy('x/allow-named', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ ports: [{ port: 'serve-81-tcp', protocol: 'TCP' }] }],
        }),
      ],
      (_f, t, port, protocol) => t !== 'x/a' || (port === 81 && protocol === 'TCP'),
    ));

  test('a named port resolves by name AND protocol: serve-80-udp with protocol TCP matches nothing', () =>
    check(
      [
        policy('x/named-wrong-proto', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'TCP' }] }],
        }),
      ],
      (_f, t) => t !== 'x/a',
    ));

  test('endPort admits the inclusive range 80-81 for TCP only', () =>
    check(
      [
        policy('x/allow-range', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }],
        }),
      ],
      (_f, t, _port, protocol) => t !== 'x/a' || protocol === 'TCP',
    ));

  test('port 81 with no protocol defaults to TCP', () =>
    check(
      [policy('x/allow-81', { podSelector: {}, ingress: [{ ports: [{ port: 81 }] }] })],
      (_f, t, port, protocol) => ns(t) !== 'x' || (port === 81 && protocol === 'TCP'),
    ));

  test('a protocol without a port admits all ports of that protocol (UDP)', () =>
    check(
      [policy('x/allow-udp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
      (_f, t, _port, protocol) => ns(t) !== 'x' || protocol === 'UDP',
    ));

  test('ipBlock with except on egress: x/a may reach 198.19.0.0/24 except y/b', () =>
    check(
      [
        policy('x/egress-cidr', {
          podSelector: { matchLabels: { pod: 'a' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: '198.19.0.0/24', except: ['198.19.0.5/32'] } }] }],
        }),
      ],
      (f, t) => f !== 'x/a' || t !== 'y/b',
    ));

  test('multiple policies are a union: two ingress allows on x/a add up', () =>
    check(
      [
        policy('x/allow-from-b', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
        policy('x/allow-from-z', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }],
        }),
      ],
      (f, t) => t !== 'x/a' || f === 'x/b' || ns(f) === 'z',
    ));

  test('ingress: [{}] allows everything even beside a deny-all', () =>
    check(
      [
        policy('x/deny', { podSelector: {}, policyTypes: ['Ingress'] }),
        policy('x/allow-all', { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] }),
      ],
      () => true,
    ));

  test('egress to namespace y only, with ingress open: x pods reach y and nothing else', () =>
    check(
      [
        policy('x/egress-y', {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
        }),
      ],
      (f, t) => ns(f) !== 'x' || ns(t) === 'y',
    ));

  test('a connection needs both ends: egress allowed at x/a but ingress denied at y/b', () =>
    check(
      [
        policy('x/egress-to-y', {
          podSelector: { matchLabels: { pod: 'a' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
        }),
        policy('y/deny-b', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'] }),
      ],
      (f, t) => (f !== 'x/a' || ns(t) === 'y') && t !== 'y/b',
    ));

  test('policyTypes Ingress only: egress rules in the same policy have no effect', () =>
    check(
      [
        policy('x/ingress-only', {
          podSelector: { matchLabels: { pod: 'a' } },
          policyTypes: ['Ingress'],
          ingress: [{}],
          egress: [{ to: [{ podSelector: { matchLabels: { pod: 'nothing' } } }] }],
        }),
      ],
      () => true,
    ));

  test('policyTypes absent with egress rules defaults to Ingress and Egress', () =>
    check(
      [
        policy('x/defaulted', {
          podSelector: { matchLabels: { pod: 'a' } },
          egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      (f, t) => (f !== 'x/a' || t === 'x/b') && t !== 'x/a',
    ));

  test('every verdict names the rules that allowed it', () => {
    const w = world({
      namespaces: model.namespaces,
      pods: model.pods,
      policies: [
        policy('x/allow-ns-y', {
          podSelector: { matchLabels: { pod: 'a' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
        }),
      ],
    });
    const v = w.verdict('y/c', 'x/a', 80);
    assert.equal(v.allowed, true);
    assert.deepEqual(v.ingress.allowedBy, [
      { policy: { namespace: 'x', name: 'allow-ns-y' }, direction: 'ingress', index: 0 },
    ]);
    const denied = w.verdict('z/c', 'x/a', 80);
    assert.equal(denied.allowed, false);
    assert.deepEqual(denied.ingress.isolatedBy, [{ namespace: 'x', name: 'allow-ns-y' }]);
    assert.equal(denied.egress.isolated, false);
    assert.equal(name('x/a'), 'a');
  });
});
