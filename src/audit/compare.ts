// Expected vs observed, per probe. Only `refused` and `timeout` are "blocked", each alone or the two
// mixed over the attempts; an error, or attempts that mix an error or a connection failure with a
// block, are inconclusive, never a mismatch.

import type { MismatchKind, Observed } from '../core/flow.ts';
import { formatRuleRef, type Verdict } from '../policy/types.ts';
import { type FinalOutcome, finalOutcome, type ProbeOutcome } from '../probe/outcome.ts';

export type Comparison =
  | { readonly kind: 'match'; readonly flaky: boolean }
  | {
      readonly kind: 'mismatch';
      readonly mismatch: MismatchKind;
      readonly observed: Observed;
    }
  | { readonly kind: 'inconclusive'; readonly reason: string };

/** A conclusive observation: `blocked` is refused on some attempts and timeout on the others. */

export function observedOf(final: FinalOutcome): Observed | undefined {
  switch (final.kind) {
    case 'connected':
    case 'refused':
    case 'timeout':
    case 'blocked':
      return final.kind;
    default:
      return undefined;
  }
}

/**
 * Why no outcome can be compared with the expectation: a direction the policies leave undetermined
 * (a ClusterNetworkPolicy peer unknown offline, or equal priorities that disagree) while the other
 * direction does not deny on its own.
 */
export function undeterminedReason(expected: Verdict): string | undefined {
  const directions = [expected.egress, expected.ingress];
  const unknown = directions.find((d) => d.undetermined !== undefined);
  if (!unknown?.undetermined || directions.some((d) => !d.allowed && d.undetermined === undefined))
    return undefined;
  return `the expectation is undetermined (${unknown.undetermined.why} at ${unknown.undetermined.rules.map(formatRuleRef).join(', ')})`;
}

export function compare(expected: Verdict, attempts: readonly ProbeOutcome[]): Comparison {
  const unknown = undeterminedReason(expected);
  if (unknown !== undefined) return { kind: 'inconclusive', reason: unknown };
  const final = finalOutcome(attempts);
  switch (final.kind) {
    case 'connected':
      return expected.allowed
        ? { kind: 'match', flaky: final.failedAttempts > 0 }
        : { kind: 'mismatch', mismatch: 'unexpected-allow', observed: 'connected' };
    case 'refused':
    case 'timeout':
    case 'blocked':
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
