// What one probe observed. An outcome is a closed union, never a boolean: only `refused` and `timeout`
// mean "blocked" (alone or mixed: a policy that REJECTs answers with a timeout when the kernel
// rate-limits its ICMP); an `error` (EHOSTUNREACH, EMFILE, ...) says nothing about policy and is never
// counted as blocked, and neither is a probe whose attempts mix an error or a connection with a block.
import { assertNever } from '../core/assert-never.ts';

/** One attempt of one probe. */
export type ProbeOutcome =
  /** The handshake completed (TCP) or the nonce came back (UDP), after `ms` milliseconds. */
  | { readonly kind: 'connected'; readonly ms: number }
  /** Actively rejected: TCP RST or ICMP port unreachable (iptables REJECT). */
  | { readonly kind: 'refused' }
  /** Nothing came back before the deadline (DROP). */
  | { readonly kind: 'timeout' }
  /** Could not probe; `cause` is the errno code or a short reason. */
  | { readonly kind: 'error'; readonly cause: string };

export type OutcomeKind = ProbeOutcome['kind'];

/** Every attempt of one probe of the plan, in order. */
export interface ProbeResult {
  readonly id: string;
  readonly attempts: readonly ProbeOutcome[];
}

/**
 * The outcome of a probe over all its attempts:
 *
 * | attempts                              | final                                      |
 * |---------------------------------------|--------------------------------------------|
 * | at least one connected                | connected (failedAttempts > 0 means flaky) |
 * | all refused                           | refused                                    |
 * | all timeout                           | timeout                                    |
 * | all error                             | error (the first cause)                    |
 * | refused and timeout, nothing else     | blocked (two ways of saying no)            |
 * | none connected, an error and a block  | mixed (inconclusive, never blocked)        |
 */
export type FinalOutcome =
  | { readonly kind: 'connected'; readonly ms: number; readonly failedAttempts: number }
  | { readonly kind: 'refused' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly cause: string }
  | { readonly kind: 'blocked'; readonly attempts: readonly ProbeOutcome[] }
  | { readonly kind: 'mixed'; readonly attempts: readonly ProbeOutcome[] };

export function finalOutcome(attempts: readonly ProbeOutcome[]): FinalOutcome {
  const first = attempts[0];
  if (first === undefined) return { kind: 'error', cause: 'no-attempts' };
  const connected = attempts.filter((a) => a.kind === 'connected');
  const fastest = connected.reduce<number | undefined>(
    (m, a) => (m === undefined ? a.ms : Math.min(m, a.ms)),
    undefined,
  );
  if (fastest !== undefined) {
    return { kind: 'connected', ms: fastest, failedAttempts: attempts.length - connected.length };
  }
  if (!isConsistent(attempts)) {
    const blocked = attempts.every((a) => a.kind === 'refused' || a.kind === 'timeout');
    return { kind: blocked ? 'blocked' : 'mixed', attempts };
  }
  switch (first.kind) {
    case 'refused':
    case 'timeout':
    case 'error':
      return first;
    case 'connected':
      // Unreachable: handled above; kept so the switch stays exhaustive.
      return { kind: 'connected', ms: first.ms, failedAttempts: 0 };
    default:
      return assertNever(first);
  }
}

/** True when every attempt had the same kind of outcome (errors: the kind, whatever the cause). */
export function isConsistent(attempts: readonly ProbeOutcome[]): boolean {
  return attempts.every((a) => a.kind === attempts[0]?.kind);
}

/** Blocked means the network answered "no" on every attempt; errors and mixes are inconclusive. */
export function isBlocked(final: FinalOutcome): boolean {
  return final.kind === 'refused' || final.kind === 'timeout' || final.kind === 'blocked';
}

/**
 * Flaky: connected on some attempts but not all, or attempts that mix an error with a block. The
 * caller counts these. Refused and timeout together are not flaky: both are "no".
 */
export function isFlaky(final: FinalOutcome): boolean {
  return (final.kind === 'connected' && final.failedAttempts > 0) || final.kind === 'mixed';
}
