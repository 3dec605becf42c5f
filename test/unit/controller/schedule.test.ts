// The round schedule: full rounds every interval or after a change settles; canary checks between.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextRound } from '../../../src/controller/schedule.ts';

const defaults = { intervalMs: 60_000, settleMs: 5_000, canaryIntervalMs: 20_000 };

describe('nextRound', () => {
  test('with the defaults, two canary checks fall between full rounds 60 s apart', () => {
    const times: string[] = [];
    let state = { lastRound: 0, lastCanary: 0, pendingChangeAt: undefined };
    for (let i = 0; i < 6; i++) {
      const next = nextRound(state, defaults, state.lastCanary);
      times.push(`${next.kind}@${next.at / 1000}`);
      state =
        next.kind === 'full'
          ? { ...state, lastRound: next.at, lastCanary: next.at }
          : { ...state, lastCanary: next.at };
    }
    assert.deepEqual(times, ['canary@20', 'canary@40', 'full@60', 'canary@80', 'canary@100', 'full@120']);
  });

  test('no canary check when a full round comes within half a canary interval', () => {
    assert.deepEqual(
      nextRound(
        { lastRound: 0, lastCanary: 0, pendingChangeAt: undefined },
        { ...defaults, intervalMs: 25_000 },
        0,
      ),
      {
        kind: 'full',
        at: 25_000,
      },
    );
    // A settled change brings the full round forward, and the canary check gives way to it.
    assert.deepEqual(nextRound({ lastRound: 0, lastCanary: 0, pendingChangeAt: 16_000 }, defaults, 0), {
      kind: 'full',
      at: 21_000,
    });
  });

  test('a pending change settles into a full round; canary checks off (0) leave only full rounds', () => {
    assert.deepEqual(nextRound({ lastRound: 0, lastCanary: 0, pendingChangeAt: 3_000 }, defaults, 0), {
      kind: 'full',
      at: 8_000,
    });
    assert.deepEqual(
      nextRound(
        { lastRound: 0, lastCanary: 0, pendingChangeAt: undefined },
        { ...defaults, canaryIntervalMs: 0 },
        0,
      ),
      { kind: 'full', at: 60_000 },
    );
  });

  test('a full round that ran past the canary checks: no check squeezed in just before the next round', () => {
    const none = { lastRound: 0, lastCanary: 0, pendingChangeAt: undefined };
    // The round started at 0 and took 55 s: both checks (20 s, 40 s) are overdue, the next round 5 s away.
    assert.deepEqual(nextRound(none, defaults, 55_000), { kind: 'full', at: 60_000 });
    // It took 25 s: the overdue check runs at once, the next 20 s later still fits (45 <= 60 - 10);
    // one that ran at 35 s would leave none (55 > 50).
    assert.deepEqual(nextRound(none, defaults, 25_000), { kind: 'canary', at: 25_000 });
    assert.deepEqual(nextRound({ ...none, lastCanary: 25_000 }, defaults, 35_000), {
      kind: 'canary',
      at: 45_000,
    });
    assert.deepEqual(nextRound({ ...none, lastCanary: 35_000 }, defaults, 45_000), {
      kind: 'full',
      at: 60_000,
    });
  });
});
