// The schedule: full rounds every interval or after a change settles; canary checks on their own cadence.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextCanaryCheck, nextFullRound } from '../../../src/controller/schedule.ts';

const defaults = { intervalMs: 60_000, settleMs: 5_000 };

describe('nextFullRound', () => {
  test('the interval after the last round when nothing changed', () => {
    assert.equal(nextFullRound({ lastRound: 0, pendingChangeAt: undefined }, defaults), 60_000);
    assert.equal(nextFullRound({ lastRound: 90_000, pendingChangeAt: undefined }, defaults), 150_000);
  });

  test('a pending change settles into an earlier round; never later than the interval', () => {
    assert.equal(nextFullRound({ lastRound: 0, pendingChangeAt: 3_000 }, defaults), 8_000);
    assert.equal(nextFullRound({ lastRound: 0, pendingChangeAt: 58_000 }, defaults), 60_000);
  });

  test('a change during a long round: the next round starts as soon as the last one ends', () => {
    // Round from 0 to 70 s, change at 20 s: due at 25 s, so the loop starts the next one at once.
    assert.ok(nextFullRound({ lastRound: 0, pendingChangeAt: 20_000 }, defaults) <= 70_000);
  });
});

describe('nextCanaryCheck', () => {
  test('every canary interval from the start of the last check', () => {
    assert.equal(nextCanaryCheck(0, 20_000, 5_000), 20_000);
    assert.equal(nextCanaryCheck(20_000, 20_000, 31_000), 40_000);
  });

  test('a check that took longer than the interval is followed at once, never overlapped', () => {
    assert.equal(nextCanaryCheck(0, 20_000, 27_000), 27_000);
  });

  test('the cadence does not depend on full rounds: a fault is caught within interval + one check', () => {
    // Full rounds of 55 s back to back (a busy cluster) leave the checks at 0, 20, 40, 60, ... s; a
    // fault at any moment is probed by the check that starts within 20 s.
    const starts: number[] = [];
    let last = Number.NEGATIVE_INFINITY;
    for (let now = 0; now < 100_000; now += 1_000) {
      if (now >= nextCanaryCheck(last, 20_000, now)) {
        starts.push(now);
        last = now;
      }
    }
    assert.deepEqual(starts, [0, 20_000, 40_000, 60_000, 80_000]);
  });
});
