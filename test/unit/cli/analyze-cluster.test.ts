// analyze reads ClusterNetworkPolicies from files: verdicts through the tiers, allowedBy carrying
// `clusternetworkpolicy/NAME#...` references in the per-pod JSON, --explain showing the tiers in order,
// and invalid objects reported with file, object and field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzePaths, runAnalyzeWith } from '../../support/analyze.ts';

const DIR = 'test/fixtures/manifests/cluster-network-policy';
const CLUSTER = `${DIR}/cluster.yaml`;

describe('analyze with ClusterNetworkPolicy', () => {
  test('the Admin tier denies tenant to tenant, passes monitoring down to the NetworkPolicy, and Baseline decides where nothing isolates', async () => {
    const a = await analyzePaths([CLUSTER]);
    assert.deepEqual(a.analysis.issues, []);
    // Admin Deny between tenants, whatever the NetworkPolicy of red allows.
    assert.equal(a.allowed('blue/web', 'red/web', '80/TCP'), false);
    assert.equal(a.allowed('red/web', 'blue/web', '80/TCP'), false);
    // Passed to red's NetworkPolicy, which allows the metrics port only.
    assert.equal(a.allowed('monitoring/prometheus', 'red/web', '9090/TCP'), true);
    assert.equal(a.allowed('monitoring/prometheus', 'red/web', '80/TCP'), false);
    // Passed, blue has no NetworkPolicy: the Baseline Deny decides.
    assert.equal(a.allowed('monitoring/prometheus', 'blue/web', '9090/TCP'), false);
    // Nothing selects monitoring's ingress in any tier.
    assert.equal(a.allowed('red/web', 'monitoring/prometheus', '9090/TCP'), true);
  });

  test('-o json keeps the per-pod contract and names the cluster rules in allowedBy, passedBy and deniedBy', async () => {
    const { code, out } = await runAnalyzeWith({ file: [CLUSTER], output: 'json' });
    assert.equal(code, 0);
    const verdicts = JSON.parse(out).verdicts as {
      from: string;
      to: string;
      port: number;
      protocol: string;
      allowed: boolean;
      ingress: Record<string, unknown>;
    }[];
    const find = (from: string, to: string, port: number) =>
      verdicts.find((v) => v.from === from && v.to === to && v.port === port && v.protocol === 'TCP');
    assert.deepEqual(find('monitoring/prometheus', 'red/web', 9090)?.ingress, {
      isolated: true,
      allowed: true,
      allowedBy: ['red/allow-metrics#ingress[0]'],
      isolatedBy: ['red/allow-metrics'],
      passedBy: ['clusternetworkpolicy/tenant-isolation#ingress[0]'],
    });
    assert.deepEqual(find('blue/web', 'red/web', 80)?.ingress, {
      isolated: true,
      allowed: false,
      allowedBy: [],
      isolatedBy: [],
      tier: 'Admin',
      deniedBy: ['clusternetworkpolicy/tenant-isolation#ingress[1]'],
    });
    const plain = find('red/web', 'monitoring/prometheus', 9090);
    assert.deepEqual(Object.keys(plain ?? {}), [
      'from',
      'to',
      'port',
      'protocol',
      'allowed',
      'egress',
      'ingress',
    ]);
    assert.deepEqual(plain?.ingress, { isolated: false, allowed: true, allowedBy: [], isolatedBy: [] });
  });

  test('--explain shows the chain and the tiers in order', async () => {
    const { code, out } = await runAnalyzeWith({
      file: [CLUSTER],
      explain: ['monitoring/prometheus', 'red/web', '9090/TCP'],
    });
    assert.equal(code, 0);
    const lines = out.split('\n');
    assert.ok(
      lines.includes(
        'Ingress to red/web: passed by clusternetworkpolicy/tenant-isolation#ingress[0], then allowed by red/allow-metrics#ingress[0] (isolated by red/allow-metrics).',
      ),
      out,
    );
    const tiers = lines.indexOf(
      '  Tiers, in order:',
      lines.findIndex((l) => l.startsWith('Ingress to red/web')),
    );
    assert.deepEqual(lines.slice(tiers + 1, tiers + 4), [
      '    1. Admin ClusterNetworkPolicy: Pass by clusternetworkpolicy/tenant-isolation#ingress[0]: on to the next tier',
      '    2. NetworkPolicy: allowed by red/allow-metrics#ingress[0]',
      '    3. Baseline ClusterNetworkPolicy: not reached',
    ]);
  });

  test('--classes -o json counts them in the summary and carries their tiers in the factored form', async () => {
    const { code, out } = await runAnalyzeWith({ file: [CLUSTER], output: 'json', classes: true });
    assert.equal(code, 0);
    const json = JSON.parse(out);
    assert.equal(json.summary.clusterPolicies, 2);
    assert.deepEqual(
      json.clusterPolicies.map((p: { ref: string; tier: string; priority: number }) => [
        p.ref,
        p.tier,
        p.priority,
      ]),
      [
        ['clusternetworkpolicy/tenant-isolation', 'Admin', 10],
        ['clusternetworkpolicy/baseline-same-namespace', 'Baseline', 50],
      ],
    );
    assert.deepEqual(
      json.clusterRules.map((r: { ref: string; action: string }) => [r.ref, r.action]),
      [
        ['clusternetworkpolicy/tenant-isolation#ingress[0]', 'Pass'],
        ['clusternetworkpolicy/tenant-isolation#ingress[1]', 'Deny'],
        ['clusternetworkpolicy/baseline-same-namespace#ingress[0]', 'Deny'],
      ],
    );
    // Every class has a selection: the baseline selects all namespaces.
    assert.equal(json.classClusters.length, json.classes.length);
    assert.ok(json.classClusters.every((i: number | null) => i !== null));
  });

  test('--base lists the flow a new Admin Deny closes, with the rule that denies it', async () => {
    const { code, out } = await runAnalyzeWith({
      file: [CLUSTER, `${DIR}/lock-red.yaml`],
      base: [CLUSTER],
      output: 'json',
    });
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out).changes, [
      {
        from: 'monitoring/prometheus',
        to: 'red/web',
        port: 9090,
        protocol: 'TCP',
        before: 'allow',
        after: 'deny',
        because: ['clusternetworkpolicy/lock-red#ingress[0] (denies ingress)'],
      },
    ]);
  });

  test("the lab's scenarios expect what their comments say", async () => {
    const allowedUnder = async (profile: 'generic' | 'cilium') => {
      const a = await analyzePaths(['test/fixtures/lab/cluster-network-policy.yaml'], { profile });
      assert.deepEqual(a.analysis.issues, []);
      assert.ok(a.verdicts.length >= 6 * 4);
      return a.verdicts
        .filter((v) => v.verdict.allowed)
        .map(
          (v) => `${v.from.key} -> ${v.to.kind === 'pod' ? v.to.pod.key : v.to.text} ${v.port}/${v.protocol}`,
        )
        .sort();
    };
    // Everything else is denied: by Admin Deny (over red's allow), by priority 5 before the Pass, by
    // the Admin egress Deny, or by the Baseline where no NetworkPolicy isolates. red -> mon 80 meets
    // the networks Deny over the pod range: generic (CIDRs match pod addresses, as the API says)
    // cannot decide it for a pod without an IP in the manifests; under Cilium CIDRs never match pods.
    assert.deepEqual(await allowedUnder('generic'), ['cnp-mon/prometheus -> cnp-red/web 80/TCP']);
    assert.deepEqual(await allowedUnder('cilium'), [
      'cnp-mon/prometheus -> cnp-red/web 80/TCP',
      'cnp-red/web -> cnp-mon/prometheus 80/TCP',
    ]);
    const generic = await analyzePaths(['test/fixtures/lab/cluster-network-policy.yaml']);
    const redToMon = generic.verdicts.find(
      (v) =>
        v.from.key === 'cnp-red/web' &&
        v.to.kind === 'pod' &&
        v.to.pod.key === 'cnp-mon/prometheus' &&
        v.port === 80,
    );
    assert.equal(redToMon?.verdict.egress.undetermined?.why, 'pod-without-ip');
  });

  test('an invalid ClusterNetworkPolicy is reported with file, object and field, and skipped', async () => {
    const { code, err } = await runAnalyzeWith({ file: [`${DIR}/invalid.yaml`, CLUSTER] });
    assert.equal(code, 2);
    for (const field of ['spec.priority', 'spec.egress[0].action', 'spec.egress[0].to[0]']) {
      assert.match(
        err,
        new RegExp(`invalid\\.yaml:\\d+.*ClusterNetworkPolicy broken.*${field.replace(/[[\].]/g, '\\$&')}`),
      );
    }
  });
});
