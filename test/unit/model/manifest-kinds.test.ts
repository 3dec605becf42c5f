import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifests } from '../../../src/model/manifests.ts';

function load(text: string) {
  return parseManifests([{ file: 'k.yaml', text }]);
}

const BODY = `metadata:
  name: x
  namespace: default
spec:
  podSelector: {}
`;

describe('kinds that are near misses of the ones netaudit reads', () => {
  const cases: [string, string, string][] = [
    ['networkpolicy', 'networking.k8s.io/v1', 'NetworkPolicy'],
    ['NetworkPolicies', 'networking.k8s.io/v1', 'NetworkPolicy'],
    ['Networkpolicy', 'networking.k8s.io/v1', 'NetworkPolicy'],
    ['Network Policy', 'networking.k8s.io/v1', 'NetworkPolicy'],
    ['NetworkPolcy', 'networking.k8s.io/v1', 'NetworkPolicy'],
    ['pod', 'v1', 'Pod'],
    ['Pods', 'v1', 'Pod'],
    ['deployment', 'apps/v1', 'Deployment'],
    ['Namespaces', 'v1', 'Namespace'],
  ];
  for (const [kind, apiVersion, meant] of cases) {
    it(`reports kind "${kind}" as an error naming ${meant}, with its line`, () => {
      const r = load(`apiVersion: ${apiVersion}\nkind: ${kind}\n${BODY}`);
      assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
      const e = r.issues[0];
      assert.equal(e?.severity, 'error');
      assert.equal(e?.line, 2);
      assert.equal(e?.field, 'kind');
      assert.match(e?.message ?? '', new RegExp(`did you mean ${meant}\\?`));
      assert.deepEqual(r.skipped, {});
    });
  }

  const versions: [string, string][] = [
    ['NetworkPolicy', 'v1'],
    ['NetworkPolicy', 'networking/v1'],
    ['NetworkPolicy', 'Networking.k8s.io/v1'],
    ['NetworkPolicy', 'networking.k8s.oi/v1'],
    ['Pod', 'core/v1'],
    ['Deployment', 'apps/v1beta2'],
    ['Job', 'v1'],
  ];
  for (const [kind, apiVersion] of versions) {
    it(`reports apiVersion "${apiVersion}" of a ${kind} as an error`, () => {
      const r = load(`apiVersion: ${apiVersion}\nkind: ${kind}\n${BODY}`);
      assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
      assert.equal(r.issues[0]?.field, 'apiVersion');
      assert.equal(r.issues[0]?.line, 1);
    });
  }

  const others: [string, string][] = [
    ['Service', 'v1'],
    ['ConfigMap', 'v1'],
    ['NetworkPolicy', 'crd.projectcalico.org/v1'],
    ['NetworkPolicy', 'projectcalico.org/v3'],
    ['CiliumNetworkPolicy', 'cilium.io/v2'],
    ['networkpolicy', 'example.com/v1'],
    ['PodMonitor', 'monitoring.coreos.com/v1'],
    ['Node', 'v1'],
  ];
  for (const [kind, apiVersion] of others) {
    it(`skips ${kind} of ${apiVersion} quietly`, () => {
      const r = load(`apiVersion: ${apiVersion}\nkind: ${kind}\n${BODY}`);
      assert.deepEqual(r.issues, []);
      assert.deepEqual(r.skipped, { [kind]: 1 });
    });
  }
});
