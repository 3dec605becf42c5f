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
      const next = nextRound(state, defaults);
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
      ),
      {
        kind: 'full',
        at: 25_000,
      },
    );
    // A settled change brings the full round forward, and the canary check gives way to it.
    assert.deepEqual(nextRound({ lastRound: 0, lastCanary: 0, pendingChangeAt: 16_000 }, defaults), {
      kind: 'full',
      at: 21_000,
    });
  });

  test('a pending change settles into a full round; canary checks off (0) leave only full rounds', () => {
    assert.deepEqual(nextRound({ lastRound: 0, lastCanary: 0, pendingChangeAt: 3_000 }, defaults), {
      kind: 'full',
      at: 8_000,
    });
    assert.deepEqual(
      nextRound(
        { lastRound: 0, lastCanary: 0, pendingChangeAt: undefined },
        { ...defaults, canaryIntervalMs: 0 },
      ),
      { kind: 'full', at: 60_000 },
    );
  });
});
