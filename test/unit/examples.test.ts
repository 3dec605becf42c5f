// Every example policy in examples/seed/, with its workloads, and verdicts checked by hand against
// what each example says it allows and denies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzePaths } from '../support/analyze.ts';

const dir = (name: string): string => new URL(`../../examples/seed/${name}`, import.meta.url).pathname;

function noErrors(issues: readonly { severity: string }[]): void {
  assert.deepEqual(
    issues.filter((i) => i.severity === 'error'),
    [],
  );
}

describe('seed examples', () => {
  test('demo-network-policy: only env=security pods reach production, and production reaches only 8.8.8.8', async () => {
    const a = await analyzePaths([dir('01-demo')], { externals: ['8.8.8.8', '1.1.1.1'] });
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('default/scanner', 'default/deployment-prod', '80/TCP'), true);
    assert.equal(a.allowed('default/dev', 'default/deployment-prod', '80/TCP'), false);
    assert.equal(a.allowed('default/deployment-prod', 'ip:8.8.8.8', '80/TCP'), true);
    assert.equal(a.allowed('default/deployment-prod', 'ip:1.1.1.1', '80/TCP'), false);
    assert.equal(
      a.allowed('default/deployment-prod', 'default/scanner', '80/TCP'),
      false,
      'egress is isolated',
    );
    assert.equal(a.allowed('default/dev', 'default/scanner', '80/TCP'), true, 'unselected pods are open');
    const v = a.verdicts.find(
      (x) =>
        x.from.key === 'default/scanner' && x.to.kind === 'pod' && x.to.pod.key === 'default/deployment-prod',
    );
    assert.deepEqual(
      v?.verdict.ingress.allowedBy.map((r) => `${r.policy.name}#${r.direction}[${r.index}]`),
      ['demo-network-policy#ingress[0]'],
    );
  });

  test('default-deny-all: nothing enters or leaves production; staging is untouched', async () => {
    const a = await analyzePaths([dir('02-default-deny-all')], { externals: ['8.8.8.8'] });
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('staging/deployment-web', 'production/deployment-web', '80/TCP'), false);
    assert.equal(a.allowed('production/deployment-web', 'production/statefulset-db', '5432/TCP'), false);
    assert.equal(a.allowed('production/deployment-web', 'staging/deployment-web', '80/TCP'), false);
    assert.equal(a.allowed('production/deployment-web', 'ip:8.8.8.8', '80/TCP'), false);
    assert.equal(a.allowed('staging/deployment-web', 'ip:8.8.8.8', '80/TCP'), true);
  });

  test('allow-ingress: ingress: [{}] isolates every pod and allows all ingress', async () => {
    const a = await analyzePaths([dir('03-allow-ingress')]);
    noErrors(a.analysis.issues);
    const v = a.verdicts.filter((x) => x.to.kind === 'pod');
    assert.ok(v.length >= 2);
    for (const x of v) {
      assert.equal(x.verdict.allowed, true);
      assert.equal(x.verdict.ingress.isolated, true);
      assert.equal(x.verdict.ingress.allowedBy.length, 1);
    }
  });

  test('suspicious-pod: role=suspicious can neither send nor receive', async () => {
    const a = await analyzePaths([dir('04-suspicious-pod')], { externals: ['8.8.8.8'] });
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('default/app', 'default/suspicious', '80/TCP'), false);
    assert.equal(a.allowed('default/suspicious', 'default/app', '80/TCP'), false);
    assert.equal(a.allowed('default/suspicious', 'ip:8.8.8.8', '80/TCP'), false);
    assert.equal(a.allowed('default/app', 'default/other', '80/TCP'), true);
  });

  test('pod selector: role=app reaches role=database, the test pod does not', async () => {
    const a = await analyzePaths([dir('05-pod-selector')]);
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('default/app', 'default/database', '5432/TCP'), true);
    assert.equal(a.allowed('default/test', 'default/database', '5432/TCP'), false);
    assert.equal(a.allowed('default/database', 'default/app', '80/TCP'), true, 'only ingress is isolated');
  });

  test('namespace selector: only namespace security reaches production', async () => {
    const a = await analyzePaths([dir('06-namespace-selector')]);
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('security/cronjob-scan', 'production/deployment-api', '8080/TCP'), true);
    assert.equal(a.allowed('dev/deployment-tools', 'production/deployment-api', '8080/TCP'), false);
    assert.equal(a.allowed('production/deployment-api', 'dev/deployment-tools', '8080/TCP'), true);
  });

  test('ipBlock egress: every pod reaches 8.8.8.8 and nothing else', async () => {
    const a = await analyzePaths([dir('07-ipblock-egress')], { externals: ['8.8.8.8', '1.1.1.1'] });
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('default/deployment-app', 'ip:8.8.8.8', '80/TCP'), true);
    assert.equal(a.allowed('default/deployment-app', 'ip:1.1.1.1', '80/TCP'), false);
    assert.equal(a.allowed('default/deployment-app', 'default/daemonset-agent', '9100/TCP'), false);
  });

  test('except: 172.17.0.0/16 may reach the database, except 172.17.1.0/24', async () => {
    const a = await analyzePaths([dir('08-except')]);
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('default/client-in', 'default/database', '5432/TCP'), true);
    assert.equal(a.allowed('default/client-except', 'default/database', '5432/TCP'), false);
    assert.equal(a.allowed('default/client-out', 'default/database', '5432/TCP'), false);
  });

  test('cilium profile: ipBlock does not match pod IPs, so even 172.17.0.10 is denied', async () => {
    const a = await analyzePaths([dir('08-except')], { profile: 'cilium' });
    assert.equal(a.allowed('default/client-in', 'default/database', '5432/TCP'), false);
  });

  test('port range: db reaches 10.0.0.0/24 on 32000-32768/TCP only', async () => {
    const a = await analyzePaths([dir('09-port-range')], { externals: ['10.0.0.5', '10.0.1.5'] });
    noErrors(a.analysis.issues);
    assert.equal(a.allowed('default/statefulset-db', 'ip:10.0.0.5', '32000/TCP'), true);
    assert.equal(a.allowed('default/statefulset-db', 'ip:10.0.0.5', '32768/TCP'), true);
    assert.equal(a.allowed('default/statefulset-db', 'ip:10.0.1.5', '32000/TCP'), false);
    assert.equal(a.allowed('default/statefulset-db', 'default/backup', '873/TCP'), false);
    assert.equal(a.allowed('default/backup', 'default/statefulset-db', '5432/TCP'), true);
  });
});
