// The controller with ClusterNetworkPolicies in the lab, under the ServiceAccount and RBAC of
// manifests/base (read-only on clusternetworkpolicies): it watches them into its expectations, and an
// Admin-tier Deny over its canary namespace is reported (log line naming the rule, gauge) while the
// canary goes on; deleting the policy takes the report back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLabUp, labEnforcer } from '../../../lab/lab.ts';
import { waitFor } from '../../../lab/sh.ts';
import {
  applyFile,
  applyText,
  deleteNamespaces,
  deleteObject,
  objectsOf,
  waitForPods,
} from '../support/apply.ts';
import { CNP_FIXTURE, CNP_NAMESPACES, ensureClusterPolicyCrd } from '../support/cluster-policies.ts';
import {
  applyRbac,
  metric,
  type RunningController,
  serviceAccountKubeconfig,
  startController,
} from '../support/controller.ts';

const CANARY_LOCK = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: { name: cnp-e2e-canary-lock }
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: { matchLabels: { kubernetes.io/metadata.name: netaudit-canary } }
  ingress:
    - name: deny-all
      action: Deny
      from: [{ namespaces: {} }]
`;
const ARGS = ['--interval', '20s', '--settle', '3s', ...CNP_NAMESPACES.flatMap((n) => ['-n', n])];

async function gauge(c: RunningController, namespace: string): Promise<number | undefined> {
  return metric(await c.metrics(), 'netaudit_admin_deny_rules', { namespace });
}

describe('netaudit controller with ClusterNetworkPolicy (lab)', { timeout: 900_000 }, () => {
  let controller: RunningController | undefined;
  let cnps: ReturnType<typeof objectsOf> = [];

  before(async () => {
    await ensureLabUp();
    await ensureClusterPolicyCrd();
    await applyRbac();
    cnps = (await applyFile(CNP_FIXTURE)).filter((o) => o.kind === 'ClusterNetworkPolicy');
    await waitForPods(CNP_NAMESPACES);
    controller = startController(await serviceAccountKubeconfig(), ARGS, 'netaudit-e2e-cnp');
  });
  after(async () => {
    await controller?.stop('SIGKILL');
    for (const o of [...cnps, ...objectsOf(CANARY_LOCK)]) await deleteObject(o);
    await deleteNamespaces(CNP_NAMESPACES);
  });

  test('it watches ClusterNetworkPolicies: rounds complete, and on Cilium nothing mismatches', async () => {
    const c = controller as RunningController;
    await waitFor(
      'two completed rounds',
      async () =>
        (metric(await c.metrics(), 'netaudit_audit_rounds_total', { outcome: 'completed' }) ?? 0) >= 2
          ? true
          : undefined,
      240_000,
      1000,
    );
    assert.doesNotMatch(c.log(), /not served by this cluster|no permission to list ClusterNetworkPolicies/);
    const lists = metric(await c.metrics(), 'netaudit_api_lists_total', {
      resource: 'clusternetworkpolicies',
    });
    assert.ok((lists ?? 0) >= 1, 'the informer listed clusternetworkpolicies');
    const cnpMismatches = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('netaudit_mismatches{') && /src_namespace="cnp-/.test(l))
        .map((l) => Number(l.split(' ').at(-1)));
    let text = await c.metrics();
    if (labEnforcer() === 'cilium') {
      // The policies were applied just before the controller started: on the loaded 2-core lab,
      // Cilium may take a round or two to enforce them on both nodes (one CI run showed 2
      // unexpected-deny in its first rounds). Once it has, a completed round finds nothing.
      await waitFor(
        'a completed round with no ClusterNetworkPolicy flow mismatching',
        async () => {
          text = await c.metrics();
          return cnpMismatches(text).every((n) => n === 0) ? true : undefined;
        },
        180_000,
        2000,
      ).catch(() => undefined);
      assert.deepEqual(
        cnpMismatches(text).filter((n) => n > 0),
        [],
        text,
      );
    }
    // kube-router does not implement ClusterNetworkPolicy: the controller sees the flows it ignores.
    else
      assert.ok(
        cnpMismatches(text).some((n) => n > 0),
        text,
      );
    assert.equal(await gauge(c, 'netaudit-canary'), 0);
  });

  test('an Admin-tier Deny over the canary namespace is reported with its rule, and taken back when deleted', async () => {
    const c = controller as RunningController;
    await applyText(CANARY_LOCK);
    await waitFor(
      'the gauge at 1',
      async () => ((await gauge(c, 'netaudit-canary')) === 1 ? true : undefined),
      60_000,
      500,
    );
    const named =
      /"namespace":"netaudit-canary","rules":\["clusternetworkpolicy\/cnp-e2e-canary-lock#ingress\[0\]"\].*Admin-tier ClusterNetworkPolicy Deny rules cover netaudit's namespace/;
    // The gauge and the log line are written together, but the line reaches this process through a
    // pipe, which may lag the metrics answer.
    await waitFor(
      'the log line naming the rule',
      async () => (named.test(c.log()) ? true : undefined),
      10_000,
      200,
    ).catch(() => undefined);
    assert.match(c.log(), named);
    const checks = async () =>
      metric(await c.metrics(), 'netaudit_canary_checks_total', { outcome: 'completed' }) ?? 0;
    const before = await checks();
    // The canary goes on: its checks complete with the Deny in their expectations.
    await waitFor(
      'a canary check after the Deny',
      async () => ((await checks()) > before ? true : undefined),
      120_000,
      1000,
    );
    for (const o of objectsOf(CANARY_LOCK)) await deleteObject(o);
    await waitFor(
      'the gauge back at 0',
      async () => ((await gauge(c, 'netaudit-canary')) === 0 ? true : undefined),
      60_000,
      500,
    );
    assert.match(c.log(), /no Admin-tier ClusterNetworkPolicy Deny rule covers netaudit's namespaces/);
  });
});
