// A probe is compared only with an expectation the policies decide: a direction left undetermined by
// a ClusterNetworkPolicy (a peer unknown offline, equal priorities that disagree) makes the probe
// inconclusive, unless the other direction denies on its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compare } from '../../../src/audit/compare.ts';
import type { DirectionVerdict, Verdict } from '../../../src/policy/types.ts';

const open: DirectionVerdict = { isolated: false, allowed: true, allowedBy: [], isolatedBy: [] };
const denied: DirectionVerdict = {
  isolated: true,
  allowed: false,
  allowedBy: [],
  isolatedBy: [{ namespace: 'x', name: 'np' }],
};
const unknown: DirectionVerdict = {
  isolated: true,
  allowed: false,
  allowedBy: [],
  isolatedBy: [],
  undetermined: {
    why: 'node-peer',
    rules: [
      {
        policy: { namespace: '', name: 'nodes', kind: 'ClusterNetworkPolicy' },
        direction: 'egress',
        index: 0,
      },
    ],
  },
};
const verdict = (egress: DirectionVerdict, ingress: DirectionVerdict): Verdict => ({
  allowed: egress.allowed && ingress.allowed,
  egress,
  ingress,
});

test('a connection against an undetermined expectation is inconclusive, not an unexpected allow', () => {
  assert.deepEqual(compare(verdict(unknown, open), [{ kind: 'connected', ms: 1 }]), {
    kind: 'inconclusive',
    reason: 'the expectation is undetermined (node-peer at clusternetworkpolicy/nodes#egress[0])',
  });
});

test('an undetermined direction does not matter when the other direction denies', () => {
  assert.deepEqual(compare(verdict(unknown, denied), [{ kind: 'connected', ms: 1 }]), {
    kind: 'mismatch',
    mismatch: 'unexpected-allow',
    observed: 'connected',
  });
  assert.deepEqual(compare(verdict(unknown, denied), [{ kind: 'refused' }]), { kind: 'match', flaky: false });
});
