// `netaudit analyze` end to end, in-process (fast) and once through bin/netaudit (the real entry point).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { runAnalyzeWith } from '../../support/analyze.ts';

const root = new URL('../../../', import.meta.url).pathname;
const seed = (name: string): string => `${root}examples/seed/${name}`;
const bad = `${root}test/fixtures/bad/mixed.yaml`;

const run = runAnalyzeWith;

describe('netaudit analyze', () => {
  test('-o json follows the contract: verdicts with from, to, port, protocol, allowed, egress and ingress', async () => {
    const r = await run({ file: [seed('05-pod-selector')], output: 'json' });
    assert.equal(r.code, 0);
    const json = JSON.parse(r.out) as { verdicts: Record<string, unknown>[] };
    const v = json.verdicts.find(
      (x) => x.from === 'default/app' && x.to === 'default/database' && x.port === 5432,
    );
    assert.deepEqual(v, {
      from: 'default/app',
      to: 'default/database',
      port: 5432,
      protocol: 'TCP',
      allowed: true,
      egress: { isolated: false, allowed: true, allowedBy: [], isolatedBy: [] },
      ingress: {
        isolated: true,
        allowed: true,
        allowedBy: ['default/allow-app-to-database#ingress[0]'],
        isolatedBy: ['default/allow-app-to-database'],
      },
    });
  });

  test('--external adds an ip: destination and workload pods are named ns/<kind>-<name>', async () => {
    const r = await run({ file: [seed('07-ipblock-egress')], output: 'json', external: ['8.8.8.8'] });
    const json = JSON.parse(r.out) as { verdicts: { from: string; to: string; allowed: boolean }[] };
    const v = json.verdicts.find((x) => x.from === 'default/deployment-app' && x.to === 'ip:8.8.8.8');
    assert.equal(v?.allowed, true);
  });

  test('--classes reports classes with members and verdicts between class ids', async () => {
    const r = await run({ file: [seed('08-except')], output: 'json', classes: true });
    const json = JSON.parse(r.out) as {
      classes: { id: string; namespace: string; members: string[] }[];
      verdicts: { from: string; to: string }[];
    };
    // client-in is inside the ipBlock; client-except (excepted) and client-out (outside) behave alike.
    const ids = new Set(json.classes.map((c) => c.id));
    assert.deepEqual(json.classes.map((c) => c.members).sort(), [
      ['default/client-except', 'default/client-out'],
      ['default/client-in'],
      ['default/database'],
    ]);
    assert.ok(json.verdicts.every((v) => ids.has(v.from) && (ids.has(v.to) || v.to.startsWith('ip:'))));
  });

  test('--port overrides the default ports', async () => {
    const r = await run({ file: [seed('05-pod-selector')], output: 'json', port: ['53/udp'] });
    const json = JSON.parse(r.out) as { verdicts: { port: number; protocol: string }[] };
    assert.ok(json.verdicts.length > 0);
    assert.ok(json.verdicts.every((v) => v.port === 53 && v.protocol === 'UDP'));
  });

  test('--explain says which policy isolates the pod and why each rule does not match', async () => {
    const r = await run({
      file: [seed('05-pod-selector')],
      explain: ['default/test', 'default/database', '5432/TCP'],
    });
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      [
        'DENIED default/test -> default/database 5432/TCP (by ingress)',
        'Egress from default/test: allowed: not isolated (no NetworkPolicy in namespace default selects it with policyType Egress), so all egress is allowed.',
        'Ingress to default/database: DENIED: isolated by default/allow-app-to-database, and no ingress rule of these policies matches.',
        '  default/allow-app-to-database#ingress[0] does not match: default/test (labels role=test) is not one of its peers: pods matching role=app in namespace default',
        '',
      ].join('\n'),
    );
  });

  test('--explain names the allowing rule', async () => {
    const r = await run({
      file: [seed('01-demo')],
      explain: ['default/scanner', 'default/deployment-prod', '80/TCP'],
    });
    assert.match(r.out, /^ALLOWED default\/scanner -> default\/deployment-prod 80\/TCP/);
    assert.match(
      r.out,
      /Ingress to default\/deployment-prod: allowed by default\/demo-network-policy#ingress\[0\]/,
    );
  });

  test('--explain with an unknown pod is a usage error that suggests a name', async () => {
    await assert.rejects(
      run({ file: [seed('05-pod-selector')], explain: ['x/test', 'default/database', '5432/TCP'] }),
      /source "x\/test" is not a pod .*did you mean default\/test/,
    );
  });

  test('bad objects are reported with file, line, object and field, skipped, and the exit code is 2', async () => {
    const r = await run({ file: [bad], output: 'json' });
    assert.equal(r.code, 2);
    const json = JSON.parse(r.out) as {
      issues: {
        severity: string;
        file: string;
        line: number;
        object: string;
        field: string;
        message: string;
      }[];
      verdicts: { from: string; to: string; allowed: boolean }[];
    };
    const errors = json.issues.filter((i) => i.severity === 'error');
    const byObject = (o: string) => errors.filter((e) => e.object === o);
    assert.deepEqual(
      byObject('NetworkPolicy shop/bad-operator').map((e) => [e.line, e.field]),
      [[15, 'spec.podSelector.matchExpressions[0].operator']],
    );
    assert.deepEqual(
      byObject('NetworkPolicy shop/bad-cidr').map((e) => [e.line, e.field]),
      [[24, 'spec.egress[0].to[0].ipBlock.cidr']],
    );
    assert.deepEqual(
      byObject('NetworkPolicy shop/bad-ports')
        .map((e) => [e.line, e.field])
        .sort(),
      [
        [33, 'spec.ingress[0].ports[0].port'],
        [34, 'spec.ingress[0].ports[1].endPort'],
      ],
    );
    assert.ok(errors.every((e) => e.file === bad && e.message.length > 10));
    // The good policy still applies: api reaches db, nothing else does.
    const flow = (from: string, to: string) => json.verdicts.find((v) => v.from === from && v.to === to);
    assert.equal(flow('shop/api', 'shop/db')?.allowed, true);
    assert.equal(flow('shop/db', 'shop/api')?.allowed, true);
  });

  test('the table shows one matrix per port with namespaces over pods', async () => {
    const r = await run({ file: [seed('04-suspicious-pod')] });
    assert.equal(r.code, 0);
    assert.match(r.out, /3 pods in 1 namespaces, 1 policies, 3 classes \(profile generic\)/);
    assert.match(r.out, /│ default\/suspicious │ {2}✗ {2}│ {3}✗ {3}│ {5}- {6}│/);
    assert.ok(!r.out.includes('\u001b['), 'no colour when not a TTY');
  });

  test('markdown is a pull-request comment with a matrix', async () => {
    const r = await run({ file: [seed('05-pod-selector')], output: 'markdown' });
    assert.match(r.out, /^### netaudit analyze/);
    assert.match(r.out, /\| `default\/test` \| ❌ \|/);
  });

  test('bin/netaudit exits 2 on bad input and prints file:line messages', () => {
    const r = spawnSync(`${root}bin/netaudit`, ['analyze', '-f', bad], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /mixed\.yaml:15 NetworkPolicy shop\/bad-operator: spec\.podSelector\.matchExpressions\[0\]\.operator:/,
    );
  });

  test('bin/netaudit exits 2 on a usage error', () => {
    const r = spawnSync(`${root}bin/netaudit`, ['analyze', '-f', bad, '--profile', 'weave'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /profile/);
  });
});
