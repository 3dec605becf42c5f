// Event content: what the Event is about, and a note a person can act on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Finding } from '../../../src/audit/round.ts';
import { findingKey, mismatchNote, regardingOf } from '../../../src/kube/events.ts';

const base: Finding = {
  from: 'shop/api-1',
  to: 'shop/db-0',
  port: 5432,
  protocol: 'TCP',
  expected: 'deny',
  observed: 'connected',
  kind: 'unexpected-allow',
  because: ['shop/db-ingress (isolates ingress; no rule allows)'],
  nodes: ['node-2'],
  srcNode: 'node-1',
  dstNode: 'node-2',
  fromClass: 'c1',
  toClass: 'c2',
  fromPods: ['shop/api-1'],
  toPods: ['shop/db-0'],
  probePods: { client: 'shop/netaudit-cli-c1-n0', server: 'shop/netaudit-srv-c2-n1' },
  explanation: [],
};

describe('events', () => {
  test('an Event regards the NetworkPolicy behind the expectation', () => {
    assert.deepEqual(regardingOf(base), {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      namespace: 'shop',
      name: 'db-ingress',
    });
    assert.deepEqual(regardingOf({ ...base, because: ['shop/allow-api#ingress[0]'] }).name, 'allow-api');
  });

  test('without a policy, the Event regards the destination pod (or the source for an external target)', () => {
    assert.deepEqual(regardingOf({ ...base, because: [] }), {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'shop',
      name: 'db-0',
    });
    assert.deepEqual(regardingOf({ ...base, because: [], to: 'ip:203.0.113.8' }).name, 'api-1');
  });

  test('the note names the flow, expected and observed, the node and the rule', () => {
    const note = mismatchNote(base);
    assert.equal(
      note,
      'unexpected-allow: shop/api-1 -> shop/db-0 5432/TCP was expected to be denied but was connected (probe from node node-1 to node node-2); node node-2 did not enforce; expectation from: shop/db-ingress (isolates ingress; no rule allows)',
    );
    assert.ok(mismatchNote({ ...base, because: ['x'.repeat(2000)] }).length <= 1000);
  });

  test('the same flow on the same nodes is one finding key (repeats update one Event series)', () => {
    assert.equal(
      findingKey(base),
      findingKey({ ...base, probePods: { client: 'other', server: undefined } }),
    );
    assert.notEqual(findingKey(base), findingKey({ ...base, nodes: ['node-1'] }));
  });
});
