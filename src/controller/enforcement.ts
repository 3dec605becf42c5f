// Which policy changes a round proves enforced, for `netaudit_enforcement_latency_seconds`. Pure.
//
// A change counts as enforced, and its latency is observed, only when the round started after it,
// found no mismatch on any class it affected, and probed every class it affected conclusively (as
// source or destination). A round that never probed an affected class (off the rotation window,
// outside --namespace, only inconclusive probes) proves nothing about it: the change stays pending
// for a later round instead of recording the time to a round that did not look.

export interface PendingChange {
  /** When the change was seen (ms since the epoch). */
  readonly at: number;
  /** The classes whose verdicts it changed. */
  readonly classes: ReadonlySet<string>;
}

export interface RoundEvidence {
  readonly started: number;
  /** Classes at either end of a confirmed mismatch of this round. */
  readonly mismatched: ReadonlySet<string>;
  /** Classes at either end of a conclusive probe of this round. */
  readonly probed: ReadonlySet<string>;
}

/** The pending changes this round proves enforced. */
export function enforcedChanges<C extends PendingChange>(pending: readonly C[], round: RoundEvidence): C[] {
  return pending.filter(
    (p) =>
      p.at <= round.started &&
      p.classes.size > 0 &&
      [...p.classes].every((c) => round.probed.has(c) && !round.mismatched.has(c)),
  );
}
