// When the leader probes, on real timers scaled down to milliseconds: the first round at once, a
// change brings the next round forward once it settles, canary checks keep their cadence beside a
// long round, nothing runs on stale caches, and the loops end when leadership does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RunLoops, type RunLoopsHooks } from '../../../src/controller/run-loops.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function harness(over: Partial<RunLoopsHooks> = {}, options = { intervalMs: 10_000, settleMs: 30 }) {
  const log: { what: 'full' | 'canary'; at: number }[] = [];
  let running = true;
  const t0 = Date.now();
  const loops = new RunLoops(
    { ...options, staleRetryMs: 10, offRetryMs: 10 },
    {
      running: () => running,
      synced: () => true,
      canaryEveryMs: () => 0,
      canaryOn: false,
      sweeping: () => Promise.resolve(),
      fullRound: async () => {
        log.push({ what: 'full', at: Date.now() - t0 });
      },
      canaryCheck: async () => {
        log.push({ what: 'canary', at: Date.now() - t0 });
      },
      ...over,
    },
  );
  const done = loops.run(undefined);
  const stop = async () => {
    running = false;
    loops.wakeAll();
    await done;
  };
  return {
    loops,
    log,
    stop,
    t0,
    count: (what: 'full' | 'canary') => log.filter((l) => l.what === what).length,
  };
}

describe('RunLoops', () => {
  test('the first round starts at once; the next waits for the interval', async () => {
    const h = harness();
    await sleep(100);
    await h.stop();
    assert.equal(h.count('full'), 1);
    assert.ok((h.log[0]?.at ?? 1e9) < 5_000, `first round after ${h.log[0]?.at} ms`);
  });

  test('a change brings the next round to settle time after it, not the interval', async () => {
    const h = harness();
    await sleep(20);
    const changedAt = Date.now();
    h.loops.changed();
    await sleep(150);
    await h.stop();
    assert.equal(h.count('full'), 2);
    const second = h.log[1]?.at ?? 0;
    assert.ok(second >= changedAt - h.t0 + 30, `second round ${second} ms: not before the change settled`);
  });

  test('changes keep coming: the round waits until they stop for settle time', async () => {
    const h = harness();
    await sleep(10);
    for (let i = 0; i < 5; i++) {
      h.loops.changed();
      await sleep(10);
    }
    assert.equal(h.count('full'), 1, 'no round while changes are 10 ms apart (settle 30 ms)');
    await sleep(100);
    await h.stop();
    assert.equal(h.count('full'), 2);
  });

  test('canary checks keep their cadence while a full round runs long', async () => {
    let release: () => void = () => undefined;
    const h = harness({
      canaryOn: true,
      canaryEveryMs: () => 20,
      fullRound: () => new Promise<void>((r) => (release = r)),
    });
    await sleep(150);
    const checks = h.count('canary');
    release();
    await h.stop();
    assert.ok(checks >= 2, `${checks} canary checks during one 150 ms round`);
  });

  test('no run on stale caches; runs resume once synced', async () => {
    let synced = false;
    const h = harness({ synced: () => synced, canaryOn: true, canaryEveryMs: () => 20 });
    await sleep(60);
    assert.equal(h.log.length, 0, 'nothing ran while caches were stale');
    synced = true;
    await sleep(60);
    await h.stop();
    assert.ok(h.count('full') >= 1 && h.count('canary') >= 1);
  });

  test('a canary check waits for a sweep under way', async () => {
    let sweepDone: () => void = () => undefined;
    const sweep = new Promise<void>((r) => (sweepDone = r));
    const h = harness({ canaryOn: true, canaryEveryMs: () => 20, sweeping: () => sweep });
    await sleep(80);
    assert.equal(h.count('canary'), 0);
    sweepDone();
    await sleep(40);
    await h.stop();
    assert.ok(h.count('canary') >= 1);
  });

  test('leadership lost: both loops end promptly, even mid-sleep', async () => {
    const h = harness({ canaryOn: true, canaryEveryMs: () => 60_000 });
    await sleep(20);
    const t = Date.now();
    await h.stop();
    assert.ok(Date.now() - t < 5_000, 'the loops ended without waiting for their 10 s and 60 s timers');
  });
});
