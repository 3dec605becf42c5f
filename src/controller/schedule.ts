// When the next probing happens: a full round when the interval is up or a change has settled; a
// canary-only check in between, unless a full round (which probes the canary too) comes within half
// a canary interval. Pure, so the timing rules are tested without clocks.

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

export function nextRound(state: ScheduleState, options: ScheduleOptions): { kind: RoundKind; at: number } {
  const periodic = state.lastRound + options.intervalMs;
  const settled =
    state.pendingChangeAt === undefined ? Number.POSITIVE_INFINITY : state.pendingChangeAt + options.settleMs;
  const full = Math.min(periodic, settled);
  const every = options.canaryIntervalMs;
  const canary = state.lastCanary + every;
  if (every > 0 && canary <= full - every / 2 && canary < full) return { kind: 'canary', at: canary };
  return { kind: 'full', at: full };
}
