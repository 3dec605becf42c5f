// The controller reports Admin-tier ClusterNetworkPolicy Deny rules whose subject covers netaudit's
// own namespace or its canary namespace, and only those.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adminDenialsOver, coverSignature } from '../../../src/controller/admin-cover.ts';
import { canaryPods, canaryPolicy } from '../../../src/controller/canary.ts';
import type { ClusterNetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import { podVerdicts } from '../../../src/expect/cells.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';

const controllerPod: Pod = {
  metadata: { namespace: 'netaudit', name: 'netaudit-0', labels: { app: 'netaudit' } },
  spec: { containers: [{ name: 'c' }] },
};
const app: Pod = {
  metadata: { namespace: 'shop', name: 'web', labels: { app: 'web' } },
  spec: { containers: [{ name: 'c' }] },
};

const cnp = (
  name: string,
  tier: string,
  subject: ClusterNetworkPolicy['spec']['subject'],
  action: string,
): ClusterNetworkPolicy => ({
  metadata: { name },
  spec: { tier, priority: 1, subject, ingress: [{ action, from: [{ namespaces: {} }] }] },
});

function engineWith(clusterPolicies: ClusterNetworkPolicy[]): ExpectationEngine {
  return ExpectationEngine.from(
    {
      namespaces: [],
      pods: [controllerPod, app, ...canaryPods('netaudit-canary')],
      policies: [canaryPolicy('netaudit-canary')],
      clusterPolicies,
    },
    PROFILES.generic,
  );
}

describe('Admin-tier denials over netaudit', () => {
  test('an Admin Deny on every namespace is reported for netaudit and its canary', () => {
    const engine = engineWith([cnp('lockdown', 'Admin', { namespaces: {} }, 'Deny')]);
    assert.deepEqual(adminDenialsOver(engine, ['netaudit', 'netaudit-canary']), [
      { namespace: 'netaudit', rules: ['clusternetworkpolicy/lockdown#ingress[0]'] },
      { namespace: 'netaudit-canary', rules: ['clusternetworkpolicy/lockdown#ingress[0]'] },
    ]);
  });

  test('Baseline denials, Admin Accept and Pass, and Admin Deny on other namespaces are not reported', () => {
    const engine = engineWith([
      cnp('baseline', 'Baseline', { namespaces: {} }, 'Deny'),
      cnp('accept', 'Admin', { namespaces: {} }, 'Accept'),
      cnp('pass', 'Admin', { namespaces: {} }, 'Pass'),
      cnp(
        'shop-only',
        'Admin',
        { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } },
        'Deny',
      ),
    ]);
    assert.deepEqual(adminDenialsOver(engine, ['netaudit', 'netaudit-canary']), []);
    assert.equal(coverSignature([]), '');
  });

  test("the canary's expectations follow the Admin Deny, so its probes are compared with what the policies say", () => {
    const engine = engineWith([
      cnp(
        'lockdown',
        'Admin',
        { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'netaudit-canary' } } },
        'Deny',
      ),
    ]);
    const canary = [...podVerdicts(engine)].filter(
      (v) =>
        v.from.namespace === 'netaudit-canary' &&
        v.to.kind === 'pod' &&
        v.to.pod.namespace === 'netaudit-canary',
    );
    assert.ok(canary.length > 0);
    for (const v of canary) {
      assert.equal(v.verdict.allowed, false);
      assert.equal(v.verdict.ingress.tier, 'Admin');
    }
  });
});
