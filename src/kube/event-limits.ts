// Bounds on the Events a round may write (no imports: the CLI reads the defaults without loading the kube client).
export interface EventLimits {
  /** New ConnectivityMismatch Events per round; the rest wait for a later round (metrics count all). */
  readonly maxNewPerRound: number;
  /** Open mismatch Events at once: a fault that breaks thousands of flows must not flood etcd. */
  readonly maxOpen: number;
  /** A series is written on the second sighting, then at most this often (client-go's recorder does the same). */
  readonly seriesRefreshMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = {
  maxNewPerRound: 25,
  maxOpen: 200,
  seriesRefreshMs: 5 * 60_000,
};
