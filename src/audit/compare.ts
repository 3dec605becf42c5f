// Expected vs observed, per probe. Only `refused` and `timeout` are "blocked"; an error or attempts
// that disagree are inconclusive, never a mismatch.

import type { Verdict } from '../policy/types.ts';
import { type FinalOutcome, finalOutcome, type ProbeOutcome } from '../probe/outcome.ts';

export type MismatchKind = 'unexpected-allow' | 'unexpected-deny';

export type Comparison =
  | { readonly kind: 'match'; readonly flaky: boolean }
  | {
      readonly kind: 'mismatch';
      readonly mismatch: MismatchKind;
      readonly observed: 'connected' | 'refused' | 'timeout';
    }
  | { readonly kind: 'inconclusive'; readonly reason: string };

export function observedOf(final: FinalOutcome): 'connected' | 'refused' | 'timeout' | undefined {
  switch (final.kind) {
    case 'connected':
    case 'refused':
    case 'timeout':
      return final.kind;
    default:
      return undefined;
  }
}

export function compare(expected: Verdict, attempts: readonly ProbeOutcome[]): Comparison {
  const final = finalOutcome(attempts);
  switch (final.kind) {
    case 'connected':
      return expected.allowed
        ? { kind: 'match', flaky: final.failedAttempts > 0 }
        : { kind: 'mismatch', mismatch: 'unexpected-allow', observed: 'connected' };
    case 'refused':
    case 'timeout':
      return expected.allowed
        ? { kind: 'mismatch', mismatch: 'unexpected-deny', observed: final.kind }
        : { kind: 'match', flaky: false };
    case 'error':
      return { kind: 'inconclusive', reason: `probe error: ${final.cause}` };
    case 'mixed':
      return {
        kind: 'inconclusive',
        reason: `attempts disagree: ${final.attempts.map((a) => a.kind).join(', ')}`,
      };
    default:
      return final satisfies never;
  }
}
