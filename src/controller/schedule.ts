// When the next probing happens: a full round when the interval is up or a change has settled; a
// canary-only check in between, unless a full round (which probes the canary too) comes within half
// a canary interval. Pure (the time is an argument), so the timing rules are tested without clocks.

export type RoundKind = 'full' | 'canary';

export interface ScheduleState {
  /** Start of the last full round. */
  readonly lastRound: number;
  /** Start of the last round of either kind. */
  readonly lastCanary: number;
  /** Time of the last unsettled change, or undefined when none is pending. */
  readonly pendingChangeAt: number | undefined;
}

export interface ScheduleOptions {
  readonly intervalMs: number;
  readonly settleMs: number;
  /** 0: no canary checks. */
  readonly canaryIntervalMs: number;
}

export function nextRound(
  state: ScheduleState,
  options: ScheduleOptions,
  now: number,
): { kind: RoundKind; at: number } {
  const periodic = state.lastRound + options.intervalMs;
  const settled =
    state.pendingChangeAt === undefined ? Number.POSITIVE_INFINITY : state.pendingChangeAt + options.settleMs;
  const full = Math.min(periodic, settled);
  const every = options.canaryIntervalMs;
  // An overdue check (a long full round ran past it) happens now, and only if a full round is not
  // about to start: rounds that fill the interval leave no room for checks, and add no load.
  const canary = Math.max(state.lastCanary + every, now);
  if (every > 0 && canary <= full - every / 2) return { kind: 'canary', at: canary };
  return { kind: 'full', at: full };
}
