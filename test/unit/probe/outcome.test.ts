import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {} from '../../../src/core/assert-never.ts';
import {
  type FinalOutcome,
  finalOutcome,
  isBlocked,
  isConsistent,
  isFlaky,
  type ProbeOutcome,
} from '../../../src/probe/outcome.ts';

const c = (ms: number): ProbeOutcome => ({ kind: 'connected', ms });
const r = { kind: 'refused' } as const;
const t = { kind: 'timeout' } as const;
const e = (cause: string) => ({ kind: 'error', cause }) as const;

describe('the final outcome of a probe over its attempts', () => {
  const cases: {
    attempts: ProbeOutcome[];
    final: FinalOutcome;
    consistent: boolean;
    blocked: boolean;
    flaky: boolean;
  }[] = [
    {
      attempts: [c(3)],
      final: { kind: 'connected', ms: 3, failedAttempts: 0 },
      consistent: true,
      blocked: false,
      flaky: false,
    },
    {
      attempts: [c(3), c(1)],
      final: { kind: 'connected', ms: 1, failedAttempts: 0 },
      consistent: true,
      blocked: false,
      flaky: false,
    },
    {
      attempts: [t, c(5), r],
      final: { kind: 'connected', ms: 5, failedAttempts: 2 },
      consistent: false,
      blocked: false,
      flaky: true,
    },
    {
      attempts: [e('EMFILE'), c(5)],
      final: { kind: 'connected', ms: 5, failedAttempts: 1 },
      consistent: false,
      blocked: false,
      flaky: true,
    },
    { attempts: [r, r, r], final: r, consistent: true, blocked: true, flaky: false },
    { attempts: [t, t], final: t, consistent: true, blocked: true, flaky: false },
    {
      attempts: [e('EHOSTUNREACH'), e('EHOSTUNREACH')],
      final: e('EHOSTUNREACH'),
      consistent: true,
      blocked: false,
      flaky: false,
    },
    {
      attempts: [r, t],
      final: { kind: 'blocked', attempts: [r, t] },
      consistent: false,
      blocked: true,
      flaky: false,
    },
    {
      attempts: [t, t, r],
      final: { kind: 'blocked', attempts: [t, t, r] },
      consistent: false,
      blocked: true,
      flaky: false,
    },
    {
      attempts: [r, e('EHOSTUNREACH')],
      final: { kind: 'mixed', attempts: [r, e('EHOSTUNREACH')] },
      consistent: false,
      blocked: false,
      flaky: true,
    },
    {
      attempts: [t, e('ENETUNREACH')],
      final: { kind: 'mixed', attempts: [t, e('ENETUNREACH')] },
      consistent: false,
      blocked: false,
      flaky: true,
    },
    { attempts: [], final: e('no-attempts'), consistent: true, blocked: false, flaky: false },
  ];
  for (const k of cases) {
    const name = k.attempts.map((a) => a.kind).join(', ') || 'no attempt';
    it(`reads ${name} as ${k.final.kind}${k.blocked ? ', blocked' : ''}${k.flaky ? ', flaky' : ''}`, () => {
      const final = finalOutcome(k.attempts);
      assert.deepEqual(final, k.final);
      assert.equal(isConsistent(k.attempts), k.consistent);
      assert.equal(isBlocked(final), k.blocked);
      assert.equal(isFlaky(final), k.flaky);
    });
  }

  it('never counts an error as blocked', () => {
    assert.equal(isBlocked(finalOutcome([e('EHOSTUNREACH')])), false);
  });
});
