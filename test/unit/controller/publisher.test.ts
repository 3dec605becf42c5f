// The controller's findings bookkeeping without a cluster: runs' reports (written out by hand) go
// in; the standing findings, the netaudit_mismatches gauge and the Events that come out are checked
// against what a user of the controller expects to see.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { ProbeRecord, RoundReport } from '../../../src/audit/round.ts';
import { conclusive, nodesAfterRun, restand } from '../../../src/controller/findings.ts';
import type { Probed } from '../../../src/controller/probe-run.ts';
import { FindingsPublisher } from '../../../src/controller/publisher.ts';
import type { Finding } from '../../../src/core/flow.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { Metrics } from '../../../src/report/metrics.ts';
import { FakeSink } from '../../support/fake-event-sink.ts';
import { finding as fixture } from '../../support/finding.ts';

// The fixture's flow between classes named for what they are here.
const finding = (over: Partial<Finding> = {}): Finding =>
  fixture({ fromClass: 'api', toClass: 'db', ...over });

/** A flow inside the canary namespace (the publisher's `canaryNamespace`). */
const canaryFinding = (): Finding =>
  finding({ from: 'netaudit-canary/a', to: 'netaudit-canary/b', fromClass: 'ca', toClass: 'cb', port: 8080 });

const silent = pino({ level: 'silent' });

function probe(f: Finding, observed: ProbeRecord['observed'], conclusiveProbe = true): ProbeRecord {
  return {
    from: f.from,
    to: f.to,
    port: f.port,
    protocol: f.protocol,
    srcNode: f.srcNode,
    dstNode: f.dstNode,
    expected: f.expected,
    egressAllowed: true,
    ingressAllowed: f.expected === 'allow',
    observed,
    conclusive: conclusiveProbe,
    fromClass: f.fromClass,
    toClass: f.toClass,
    clientPod: 'shop/cli',
    serverPod: 'shop/srv',
  };
}

function report(mismatches: Finding[], probes: ProbeRecord[], classes = ['api', 'db']): RoundReport {
  const nodes = ['node-1', 'node-2'];
  return {
    summary: {
      probes: probes.length,
      mismatches: mismatches.length,
      unexpectedAllow: mismatches.filter((m) => m.kind === 'unexpected-allow').length,
      unexpectedDeny: mismatches.filter((m) => m.kind === 'unexpected-deny').length,
      flaky: 0,
      skipped: 0,
      inconclusive: 0,
      classes: classes.length,
      nodes: nodes.length,
      podsCreated: 4,
      serversReused: 0,
      podPairProbes: 0,
      savedProbes: 0,
    },
    mismatches,
    flaky: [],
    inconclusive: [],
    skipped: [],
    failedPods: [],
    probes,
    rotation: {
      coverage: { nodesCovered: 2, pairsCovered: 4, pairsTotal: 4, rounds: 1 },
      assignment: new Map(classes.map((c) => [c, nodes])),
      nodes,
      probePods: 4,
      overBudget: false,
      nextCursor: 0,
    },
    timings: { plan: 0, servers: 0, settle: 0, clients: 0, confirm: 0, total: 0 },
  };
}

function probed(r: RoundReport, over: Partial<Probed> = {}): Probed {
  return {
    outcome: 'completed',
    withCanary: false,
    report: r,
    changed: new Set(),
    seconds: 1,
    started: Date.now(),
    log: silent,
    nodes: [
      { name: 'node-1', excluded: undefined },
      { name: 'node-2', excluded: undefined },
    ],
    repartitioned: false,
    ...over,
  };
}

function publisher(sink = new FakeSink(), instance = 'netaudit-0') {
  const metrics = new Metrics({ processMetrics: false });
  const events = new EventRecorder(sink, instance, silent);
  const pub = new FindingsPublisher(
    { canary: true, canaryNamespace: 'netaudit-canary', maxProbePods: undefined, metrics },
    events,
  );
  const gauge = async (): Promise<number> =>
    (await metrics.registry.getSingleMetric('netaudit_mismatches')?.get())?.values.reduce(
      (n, v) => n + v.value,
      0,
    ) ?? 0;
  return { sink, pub, gauge };
}

describe('findings bookkeeping (pure)', () => {
  test('a class that changed mid-run: its findings and probes prove nothing', () => {
    const f = finding();
    const other = finding({
      fromClass: 'web',
      from: 'shop/web-0',
      toClass: 'cache',
      to: 'shop/cache-0',
      port: 80,
    });
    const r = report([f, other], [probe(f, 'connected'), probe(other, 'connected')]);
    const { findings, probed: ok } = conclusive(r, new Set(['db']));
    assert.deepEqual(
      findings.map((x) => x.from),
      ['shop/web-0'],
    );
    assert.deepEqual(
      ok.map((p) => `${p.fromClass}->${p.toClass}`),
      ['web->cache'],
    );
  });

  test('a standing finding off this run (another namespace owns it) stays as it was', () => {
    const canary = finding({ from: 'netaudit-canary/a', fromClass: 'ca', toClass: 'cb' });
    const r = report([], []);
    const next = restand({
      standing: [canary],
      mine: (x) => !x.from.startsWith('netaudit-canary/'),
      report: r,
      findings: [],
      probed: [],
      changedVerdicts: new Set(),
    });
    assert.deepEqual(next, [canary]);
  });

  test('a node that shows leaks becomes a NodeNotEnforcing Warning, once', () => {
    const f = finding();
    const r = report([f], [probe(f, 'connected')]);
    const first = nodesAfterRun(
      { verdicts: new Map(), probedAt: new Map() },
      { report: r, findings: [f], changed: new Set(), nodes: probed(r).nodes, probedAt: 1 },
    );
    const warnings = first.events.filter((e) => e.type === 'Warning');
    assert.deepEqual(
      warnings.map((e) => [e.node, e.reason]),
      [['node-2', 'NodeNotEnforcing']],
    );
    const again = nodesAfterRun(first.state, {
      report: r,
      findings: [f],
      changed: new Set(),
      nodes: probed(r).nodes,
      probedAt: 2,
    });
    assert.deepEqual(again.events, [], 'no second Warning while it stays broken');
  });
});

describe('FindingsPublisher', () => {
  test('a confirmed mismatch: gauge 1 and one Warning; the next round sees it blocked: gauge 0 and ConnectivityRestored', async () => {
    const { sink, pub, gauge } = publisher();
    const f = finding();
    await pub.recordRound(probed(report([f], [probe(f, 'connected')])));
    assert.equal(await gauge(), 1);
    assert.equal(sink.count('create', 'ConnectivityMismatch'), 1);
    await pub.recordRound(probed(report([], [probe(f, 'blocked')])));
    assert.equal(await gauge(), 0);
    assert.equal(sink.count('create', 'ConnectivityRestored'), 1);
  });

  test('an inconclusive probe does not clear a standing mismatch', async () => {
    const { sink, pub, gauge } = publisher();
    const f = finding();
    await pub.recordRound(probed(report([f], [probe(f, 'connected')])));
    await pub.recordRound(probed(report([], [probe(f, 'error', false)])));
    assert.equal(await gauge(), 1);
    assert.equal(sink.count('create', 'ConnectivityRestored'), 0);
  });

  test("a full round without the canary keeps the canary's findings; a canary check replaces only those", async () => {
    const { pub, gauge } = publisher();
    const user = finding();
    const canary = canaryFinding();
    await pub.recordCanaryCheck(
      probed(report([canary], [probe(canary, 'connected')], ['ca', 'cb']), { withCanary: true }),
    );
    await pub.recordRound(probed(report([user], [probe(user, 'connected')])));
    assert.equal(await gauge(), 2, 'the user flow and the canary flow stand');
    await pub.recordCanaryCheck(
      probed(report([], [probe(canary, 'blocked')], ['ca', 'cb']), { withCanary: true }),
    );
    assert.equal(await gauge(), 1, 'the canary cleared; the user finding stands');
  });

  test("a new leader's first canary check restores only the canary's adopted Events; a full round continues the user's series", async () => {
    const old = publisher();
    const user = finding();
    const canary = canaryFinding();
    await old.pub.recordRound(
      probed(report([user, canary], [probe(user, 'connected'), probe(canary, 'connected')]), {
        withCanary: true,
      }),
    );
    assert.equal(old.sink.count('create', 'ConnectivityMismatch'), 2);
    // The old leader is gone; a new one (its own recorder, the same Events API) takes over.
    const { sink, pub } = publisher(old.sink, 'netaudit-1');
    await pub.recordCanaryCheck(
      probed(report([], [probe(canary, 'blocked')], ['ca', 'cb']), { withCanary: true }),
    );
    const restored = sink.calls.filter(
      (c) => c.verb === 'create' && c.body.reason === 'ConnectivityRestored',
    );
    assert.deepEqual(
      restored.map((c) => c.body.note?.split(' behaves')[0]),
      ['netaudit-canary/a -> netaudit-canary/b 8080/TCP'],
      'the canary check probed only the canary: the user finding is not shown restored',
    );
    await pub.recordRound(probed(report([user], [probe(user, 'connected')])));
    assert.equal(sink.count('create', 'ConnectivityMismatch'), 2, 'no second Warning for the user finding');
    const series = sink.calls.filter((c) => c.verb === 'replace' && c.body.series);
    assert.deepEqual(
      series.map((c) => [c.body.note?.includes(user.from), c.body.series?.count]),
      [[true, 2]],
      "the user finding's series goes on where the old leader left it",
    );
  });

  test('leadership lost: nothing stands and the gauge is emptied', async () => {
    const { pub, gauge } = publisher();
    const f = finding();
    await pub.recordRound(probed(report([f], [probe(f, 'connected')])));
    pub.forget();
    assert.equal(await gauge(), 0);
  });

  test('a run without results (aborted) changes nothing', async () => {
    const { sink, pub, gauge } = publisher();
    const f = finding();
    await pub.recordRound(probed(report([f], [probe(f, 'connected')])));
    await pub.recordRound(probed(report([], []), { outcome: 'aborted', report: undefined }));
    assert.equal(await gauge(), 1);
    assert.equal(sink.count('create', 'ConnectivityRestored'), 0);
  });
});
