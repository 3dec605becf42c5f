// ClusterNetworkPolicy is a CRD: a cluster that does not serve it (404) or a netaudit that may not
// read it (403) has none, with the reason; any other failure is a failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { toClusterNetworkPolicy, unavailableReason } from '../../../src/kube/cluster-policies.ts';

const status = (code: number, reason: string) =>
  new k8s.ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: 'Status', reason, code }), {});

test('a cluster without the CRD has no ClusterNetworkPolicy, and says so', () => {
  assert.match(
    unavailableReason(status(404, 'NotFound')) ?? '',
    /not served by this cluster \(no CRD\): treated as none/,
  );
});

test('no permission to list them is treated as none, naming the grant', () => {
  assert.match(
    unavailableReason(status(403, 'Forbidden')) ?? '',
    /403 Forbidden.*treated as none; grant list and watch on clusternetworkpolicies\.policy\.networking\.k8s\.io/,
  );
});

test('other failures are not explained away', () => {
  assert.equal(unavailableReason(status(500, 'InternalError')), undefined);
});

test('a live object keeps name, labels and spec', () => {
  const spec = { tier: 'Admin', priority: 1, subject: { namespaces: {} } };
  assert.deepEqual(
    toClusterNetworkPolicy({
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'x', resourceVersion: '7', managedFields: [] },
      spec,
    }),
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'x', resourceVersion: '7' },
      spec,
    },
  );
});
