// Event content (what the Event is about, a note a person can act on) and the recorder's limits:
// a fault that breaks thousands of flows must not write thousands of Events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { Finding } from '../../../src/core/flow.ts';
import { EventRecorder, findingKey, mismatchNote, regardingOf } from '../../../src/kube/events.ts';
import { FakeSink } from '../../support/fake-event-sink.ts';
import { finding } from '../../support/finding.ts';

const base: Finding = finding();

describe('events', () => {
  test('an Event regards the NetworkPolicy behind the expectation', () => {
    assert.deepEqual(regardingOf(base), {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      namespace: 'shop',
      name: 'db-ingress',
    });
    const allows = { namespace: 'shop', name: 'allow-api' };
    assert.deepEqual(
      regardingOf({
        ...base,
        because: [{ kind: 'allows', rule: { policy: allows, direction: 'ingress', index: 0 } }],
      }).name,
      'allow-api',
    );
  });

  test('an Event about a ClusterNetworkPolicy rule regards that cluster-scoped object', () => {
    const rule = {
      policy: { namespace: '', name: 'deny-db', kind: 'ClusterNetworkPolicy' as const },
      direction: 'ingress' as const,
      index: 0,
    };
    assert.deepEqual(regardingOf({ ...base, because: [{ kind: 'denies', rule, direction: 'ingress' }] }), {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      name: 'deny-db',
    });
    assert.match(
      mismatchNote({ ...base, because: [{ kind: 'denies', rule, direction: 'ingress' }] }),
      /expectation from: clusternetworkpolicy\/deny-db#ingress\[0\] \(denies ingress\)$/,
    );
  });

  test('without a policy, the Event regards the destination pod (or the source for an external target)', () => {
    assert.deepEqual(regardingOf({ ...base, because: [] }), {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'shop',
      name: 'db-0',
    });
    assert.deepEqual(regardingOf({ ...base, because: [], to: 'ip:203.0.113.8' }).name, 'api-1');
  });

  test('the note names the flow, expected and observed, the node and the rule', () => {
    const note = mismatchNote(base);
    assert.equal(
      note,
      'unexpected-allow: shop/api-1 -> shop/db-0 5432/TCP was expected to be denied but was connected (probe from node node-1 to node node-2); node node-2 did not enforce; expectation from: shop/db-ingress (isolates ingress; no rule allows)',
    );
    const long = { namespace: 'shop', name: 'x'.repeat(2000) };
    assert.ok(
      mismatchNote({ ...base, because: [{ kind: 'isolates', policy: long, direction: 'ingress' }] }).length <=
        1000,
    );
  });

  test('the same flow on the same nodes is one finding key (repeats update one Event series)', () => {
    assert.equal(
      findingKey(base),
      findingKey({ ...base, probePods: { client: 'other', server: undefined } }),
    );
    assert.notEqual(findingKey(base), findingKey({ ...base, nodes: ['node-1'] }));
  });
});

const flows = (n: number): Finding[] => Array.from({ length: n }, (_, i) => ({ ...base, port: 1000 + i }));

function recorder(
  limits: { maxNewPerRound: number; maxOpen: number; seriesRefreshMs: number },
  sink = new FakeSink(),
) {
  let clock = 1_000_000;
  const rec = new EventRecorder(sink, 'netaudit-0', pino({ level: 'silent' }), limits, () => clock);
  return { sink, rec, advance: (ms: number) => (clock += ms) };
}

describe('the event recorder', () => {
  test('a new mismatch creates one Warning; the second sighting writes the series; later ones wait for the refresh period', async () => {
    const { sink, rec, advance } = recorder({ maxNewPerRound: 10, maxOpen: 10, seriesRefreshMs: 300_000 });
    assert.deepEqual(await rec.publish([base]), {
      created: 1,
      updated: 0,
      restored: 0,
      deferred: 0,
      errors: 0,
    });
    assert.equal(sink.calls[0]?.body.type, 'Warning');
    assert.equal(sink.calls[0]?.body.reason, 'ConnectivityMismatch');
    advance(60_000);
    assert.equal((await rec.publish([base])).updated, 1);
    assert.equal(sink.calls.at(-1)?.body.series?.count, 2);
    advance(60_000);
    assert.equal(
      (await rec.publish([base])).updated,
      0,
      'third sighting within the refresh period: no write',
    );
    advance(300_000);
    assert.equal((await rec.publish([base])).updated, 1);
    assert.equal(
      sink.calls.at(-1)?.body.series?.count,
      4,
      'the written count includes the unwritten sightings',
    );
    assert.equal(sink.count('create'), 1);
  });

  test('a flood of findings creates at most maxNewPerRound Events a round and never more than maxOpen at once', async () => {
    const { sink, rec } = recorder({ maxNewPerRound: 25, maxOpen: 60, seriesRefreshMs: 300_000 });
    const flood = flows(3000);
    const first = await rec.publish(flood);
    assert.equal(first.created, 25);
    assert.equal(first.deferred, 2975);
    await rec.publish(flood);
    const third = await rec.publish(flood);
    assert.equal(third.created, 10, 'the open cap (60) stops the third round at 10 new');
    assert.equal(rec.openCount, 60);
    assert.equal((await rec.publish(flood)).created, 0);
    assert.equal(sink.count('create', 'ConnectivityMismatch'), 60);
    // Repeats: each open Event's series is written once (its second sighting), not every round.
    assert.equal(sink.count('replace'), 60);
  });

  test('a fault that clears restores every open Event once, and deferred findings never get a Restored', async () => {
    const { sink, rec } = recorder({ maxNewPerRound: 5, maxOpen: 100, seriesRefreshMs: 300_000 });
    await rec.publish(flows(40));
    const cleared = await rec.publish([]);
    assert.equal(cleared.restored, 5);
    assert.equal(sink.count('create', 'ConnectivityRestored'), 5);
    assert.equal(rec.openCount, 0);
    const restored = sink.calls.find((c) => c.body.reason === 'ConnectivityRestored')?.body;
    assert.equal(restored?.type, 'Normal');
    assert.match(restored?.note ?? '', /behaves as expected again \(denied\) after 1 sighting/);
  });

  test('a failing API server is counted and logged; the finding is tried again next round', async () => {
    const { sink, rec } = recorder({ maxNewPerRound: 5, maxOpen: 100, seriesRefreshMs: 300_000 });
    sink.failCreates = true;
    assert.deepEqual(await rec.publish([base]), {
      created: 0,
      updated: 0,
      restored: 0,
      deferred: 0,
      errors: 1,
    });
    sink.failCreates = false;
    assert.equal((await rec.publish([base])).created, 1);
  });

  test('the same finding twice in one round is one Event', async () => {
    const { rec } = recorder({ maxNewPerRound: 5, maxOpen: 100, seriesRefreshMs: 300_000 });
    assert.equal((await rec.publish([base, { ...base }])).created, 1);
  });
});

describe('Events across a leader change (a new recorder on the same API server)', () => {
  const limits = { maxNewPerRound: 10, maxOpen: 10, seriesRefreshMs: 300_000 };

  test('a standing mismatch continues its series: no second Warning, the count goes on', async () => {
    const old = recorder(limits);
    await old.rec.publish([base]);
    await old.rec.publish([base]);
    const next = recorder(limits, old.sink);
    assert.deepEqual(await next.rec.publish([base]), {
      created: 0,
      updated: 1,
      restored: 0,
      deferred: 0,
      errors: 0,
    });
    assert.equal(old.sink.count('create', 'ConnectivityMismatch'), 1);
    assert.equal(old.sink.calls.at(-1)?.body.series?.count, 3);
    assert.equal(next.rec.openCount, 1);
  });

  test('a finding that cleared while no leader watched gets its Restored, and the Event is closed for good', async () => {
    const old = recorder(limits);
    await old.rec.publish([base, { ...base, port: 80 }]);
    const next = recorder(limits, old.sink);
    const r = await next.rec.publish([{ ...base, port: 80 }]);
    assert.equal(r.restored, 1);
    assert.equal(r.created, 0);
    const restored = old.sink.calls
      .filter((c) => c.body.reason === 'ConnectivityRestored')
      .map((c) => c.body);
    assert.equal(restored.length, 1);
    assert.match(
      restored[0]?.note ?? '',
      /^shop\/api-1 -> shop\/db-0 5432\/TCP behaves as expected again \(denied\)/,
    );
    assert.deepEqual(restored[0]?.regarding, regardingOf(base));
    // A third leader adopts only what is still open.
    const third = recorder(limits, old.sink);
    assert.deepEqual(await third.rec.adopt(), { adopted: 1, closed: 0 });
  });

  test('two open Events for one finding (two leaders for a moment): the newest is kept, the other closed', async () => {
    const a = recorder(limits);
    await a.rec.publish([base]);
    const b = recorder(limits, a.sink);
    b.rec.forget();
    // b wrote its own Warning without adopting (as a replica that could not list would).
    await (
      b.rec as unknown as { create: (f: Finding, t: string, r: string, n: string) => Promise<unknown> }
    ).create(base, 'Warning', 'ConnectivityMismatch', 'x');
    const c = recorder(limits, a.sink);
    assert.deepEqual(await c.rec.adopt(), { adopted: 1, closed: 1 });
    const open = await a.sink.list('netaudit.io/open=true');
    assert.equal(open.length, 1);
  });

  test("Events without netaudit's finding annotation, or of another controller, are never adopted", async () => {
    const sink = new FakeSink();
    await sink.create('shop', {
      metadata: { labels: { 'netaudit.io/open': 'true' } },
      reportingController: 'netaudit.io/controller',
      reason: 'ConnectivityMismatch',
      eventTime: new Date() as never,
    });
    await sink.create('shop', {
      metadata: {
        labels: { 'netaudit.io/open': 'true', 'netaudit.io/finding': 'x' },
        annotations: { 'netaudit.io/finding': '{}' },
      },
      reportingController: 'someone-else',
      reason: 'ConnectivityMismatch',
      eventTime: new Date() as never,
    });
    const { rec } = recorder(limits, sink);
    assert.deepEqual(await rec.adopt(), { adopted: 0, closed: 0 });
  });
});
