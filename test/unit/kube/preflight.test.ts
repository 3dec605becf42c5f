// Start-up checks and API failures as a person reads them: one line naming the missing namespace or
// permissions, and a status, reason and message instead of the client's exception dump.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { apiFailure, failureClass, formatApiFailure, kubeError } from '../../../src/kube/errors.ts';
import { controllerPermissions, formatPermission, preflightProblem } from '../../../src/kube/preflight.ts';

describe('controller start-up checks', () => {
  const permissions = controllerPermissions({
    leaseNamespace: 'netaudit',
    canaryNamespace: 'netaudit-canary',
  });

  test('the permissions checked are those manifests/base/rbac.yaml grants', () => {
    assert.deepEqual(permissions.map(formatPermission), [
      'get leases.coordination.k8s.io in netaudit',
      'create leases.coordination.k8s.io in netaudit',
      'update leases.coordination.k8s.io in netaudit',
      'list namespaces',
      'watch namespaces',
      'list pods',
      'watch pods',
      'list nodes',
      'watch nodes',
      'list networkpolicies.networking.k8s.io',
      'watch networkpolicies.networking.k8s.io',
      'create pods',
      'delete pods',
      'create configmaps',
      'create events.events.k8s.io',
      'list events.events.k8s.io',
      'create networkpolicies.networking.k8s.io in netaudit-canary',
    ]);
  });

  test('manifests/base/rbac.yaml grants every one of them (else the Deployment would refuse to start)', () => {
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const docs = parseAllDocuments(
      readFileSync(new URL('../../../manifests/base/rbac.yaml', import.meta.url), 'utf8'),
    ).map((d) => d.toJSON() as { kind: string; metadata: { namespace?: string }; rules?: Rule[] });
    const grants = (p: (typeof permissions)[number]) =>
      docs.some(
        (d) =>
          (d.kind === 'ClusterRole' || (d.kind === 'Role' && d.metadata.namespace === p.namespace)) &&
          (d.rules ?? []).some(
            (r) =>
              r.apiGroups.includes(p.group) && r.resources.includes(p.resource) && r.verbs.includes(p.verb),
          ),
      );
    assert.deepEqual(permissions.filter((p) => !grants(p)).map(formatPermission), []);
  });

  const cases: {
    name: string;
    exists: boolean;
    denied: number[];
    want: string | undefined;
  }[] = [
    { name: 'all there: start', exists: true, denied: [], want: undefined },
    {
      name: 'a missing Lease namespace is named, with the two ways out',
      exists: false,
      denied: [],
      want: 'the Lease namespace "netaudit" does not exist: create it (kubectl create namespace netaudit) or set --lease-namespace',
    },
    {
      name: 'missing permissions are listed, all of them, in one line',
      exists: true,
      denied: [0, 5],
      want: 'system:serviceaccount:netaudit:netaudit lacks RBAC permissions: get leases.coordination.k8s.io in netaudit, list pods (apply manifests/base/rbac.yaml, or grant them)',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(
        preflightProblem({
          leaseNamespace: 'netaudit',
          leaseNamespaceExists: c.exists,
          denied: c.denied.map((i) => permissions[i] as (typeof permissions)[number]),
          identity: 'system:serviceaccount:netaudit:netaudit',
        }),
        c.want,
      );
    });
  }
});

describe('API failures in logs', () => {
  const notFound = new k8s.ApiException(
    404,
    'HTTP-Code: 404\nMessage: Unknown API Status Code!\nBody: ...\nHeaders: {...}',
    JSON.stringify({
      kind: 'Status',
      status: 'Failure',
      message: 'namespaces "netaudit" not found',
      reason: 'NotFound',
      code: 404,
    }),
    {},
  );

  test('status, reason and message, not the exception dump', () => {
    assert.deepEqual(apiFailure(notFound), {
      status: 404,
      reason: 'NotFound',
      message: 'namespaces "netaudit" not found',
      retryable: false,
    });
    assert.equal(formatApiFailure(apiFailure(notFound)), '404 NotFound: namespaces "netaudit" not found');
  });

  test('through a KubeApiError: what was being done, and the same status and reason', () => {
    const f = apiFailure(kubeError({ verb: 'create', resource: 'leases', namespace: 'netaudit' }, notFound));
    assert.equal(f.status, 404);
    assert.equal(f.reason, 'NotFound');
    assert.equal(f.message, 'create leases netaudit: namespaces "netaudit" not found');
  });

  test('retryable or terminal, decided once by status', () => {
    // Trying again can help: no answer, timeouts, conflicts, an expired watch, throttling, server errors.
    for (const status of [undefined, 408, 409, 410, 429, 500, 503, 504])
      assert.equal(failureClass(status), 'retryable', String(status));
    // It cannot until a person changes something: the request, credentials, RBAC, admission, the API.
    for (const status of [400, 401, 403, 404, 405, 415, 422])
      assert.equal(failureClass(status), 'terminal', String(status));
    assert.equal(apiFailure(new Error('connect ECONNREFUSED 127.0.0.1:6443')).retryable, true);
  });

  test('no answer at all: the message alone', () => {
    assert.equal(
      formatApiFailure(apiFailure(new Error('connect ECONNREFUSED 127.0.0.1:6443'))),
      'connect ECONNREFUSED 127.0.0.1:6443',
    );
  });

  test('a refusal names the verb, the resource and the namespace to grant', () => {
    const forbidden = new k8s.ApiException(
      403,
      'HTTP-Code: 403',
      JSON.stringify({
        kind: 'Status',
        status: 'Failure',
        message:
          'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "shop"',
        reason: 'Forbidden',
        code: 403,
      }),
      {},
    );
    const e = kubeError({ verb: 'create', resource: 'pods', namespace: 'shop' }, forbidden);
    assert.equal(
      e.message,
      'create pods shop: pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "shop" (no permission: grant create on pods in namespace shop; the controller\'s are in manifests/base/rbac.yaml)',
    );
    assert.equal(formatApiFailure(apiFailure(e)).startsWith('403 Forbidden: create pods shop: '), true);
  });
});
