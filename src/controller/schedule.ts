// When the next probing happens. Full rounds: when the interval is up or a change has settled.
// Canary checks: on a cadence of their own, beside the full rounds, so the time to catch a node that
// stopped enforcing is bounded by the canary interval, not by how long a busy cluster's rounds take.
// Pure (the time is an argument), so the timing rules are tested without clocks.

export type RoundKind = 'full' | 'canary';

export interface FullRoundState {
  /** Start of the last full round. */
  readonly lastRound: number;
  /** Time of the last unsettled change, or undefined when none is pending. */
  readonly pendingChangeAt: number | undefined;
}

export interface FullRoundOptions {
  readonly intervalMs: number;
  readonly settleMs: number;
}

/** When the next full round starts: the interval after the last, or a pending change once settled. */
export function nextFullRound(state: FullRoundState, options: FullRoundOptions): number {
  const periodic = state.lastRound + options.intervalMs;
  const settled =
    state.pendingChangeAt === undefined ? Number.POSITIVE_INFINITY : state.pendingChangeAt + options.settleMs;
  return Math.min(periodic, settled);
}

/**
 * When the next canary check starts: an interval after the last one started, or at once when the last
 * one took longer than that (checks never overlap one another, and never wait for a full round).
 */
export function nextCanaryCheck(lastCheck: number, canaryIntervalMs: number, now: number): number {
  return Math.max(lastCheck + canaryIntervalMs, now);
}
