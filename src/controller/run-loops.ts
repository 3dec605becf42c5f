// When the leader probes: full rounds every --interval and soon after changes settle, and canary
// checks on their own cadence beside them, so a busy cluster's long rounds never delay the check
// that catches a node that stopped enforcing. Sleeps end early on a change, a shutdown or a
// leadership change. The times themselves come from schedule.ts (pure).
import { nextCanaryCheck, nextFullRound } from './schedule.ts';

export interface RunLoopsOptions {
  readonly intervalMs: number;
  /** A change brings the next round to this long after the last change. */
  readonly settleMs: number;
  /** While caches are stale (API server away) no run starts; look again this much later. */
  readonly staleRetryMs?: number;
  /** Canary checks switched off by configuration: the loop ends. Off for now (budget): look again this much later. */
  readonly offRetryMs?: number;
}

/** What the loops read and call on the rest of the controller. */
export interface RunLoopsHooks {
  readonly running: () => boolean;
  readonly synced: () => boolean;
  /** Canary checks every this many ms; 0 while they are off. */
  readonly canaryEveryMs: () => number;
  /** Canary checks exist at all (the canary is on). */
  readonly canaryOn: boolean;
  /** A full round's orphan sweep: a check waits for it before creating its own pods. */
  readonly sweeping: () => Promise<unknown>;
  readonly fullRound: (previousLeader: string | undefined) => Promise<void>;
  readonly canaryCheck: () => Promise<void>;
}

export class RunLoops {
  private readonly options: RunLoopsOptions;
  private readonly hooks: RunLoopsHooks;
  private readonly sleepers = new Set<() => void>();
  private lastChange = 0;
  private pendingChange = false;

  constructor(options: RunLoopsOptions, hooks: RunLoopsHooks) {
    this.options = options;
    this.hooks = hooks;
  }

  /** A change the next round must look at: it comes once changes have settled. */
  changed(): void {
    this.lastChange = Date.now();
    this.pendingChange = true;
    this.wakeAll();
  }

  /** A run's results were discarded: the next round comes as soon as changes settle. */
  again(): void {
    this.pendingChange = true;
  }

  /** Ends every sleep at once (shutdown, leadership change). */
  wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** Both loops, until the hooks say to stop running. */
  async run(previousLeader: string | undefined): Promise<void> {
    await Promise.all([this.fullRounds(previousLeader), this.canaryChecks()]);
  }

  private async fullRounds(previous: string | undefined): Promise<void> {
    const { running, synced } = this.hooks;
    let lastRound = 0;
    let first = true;
    while (running()) {
      if (!first)
        await this.sleepUntil(() =>
          nextFullRound(
            { lastRound, pendingChangeAt: this.pendingChange ? this.lastChange : undefined },
            { intervalMs: this.options.intervalMs, settleMs: this.options.settleMs },
          ),
        );
      first = false;
      if (!running()) break;
      if (!synced()) {
        // Caches are stale (API server away): no round on stale data; try again shortly.
        await this.nap(this.options.staleRetryMs ?? 2000);
        continue;
      }
      lastRound = Date.now();
      this.pendingChange = false;
      await this.hooks.fullRound(previous);
      previous = undefined;
    }
  }

  private async canaryChecks(): Promise<void> {
    const { running, synced } = this.hooks;
    let last = Number.NEGATIVE_INFINITY;
    while (running()) {
      const every = this.hooks.canaryEveryMs();
      if (every === 0) {
        // Off (no canary, or over budget on this many nodes): full rounds probe the canary; look again later.
        if (!this.hooks.canaryOn) return;
        await this.nap(this.options.offRetryMs ?? 30_000);
        continue;
      }
      await this.sleepUntil(() => nextCanaryCheck(last, every, Date.now()));
      if (!running()) break;
      if (!synced()) {
        await this.nap(this.options.staleRetryMs ?? 2000);
        continue;
      }
      // A sweep that started before this check would not spare its pods (its selector names the runs then under way).
      await this.hooks.sweeping();
      last = Date.now();
      await this.hooks.canaryCheck();
    }
  }

  /** Sleeps until `due()` (recomputed on every wake: a change brings a round forward), or the loops stop. */
  private async sleepUntil(due: () => number): Promise<void> {
    for (;;) {
      if (!this.hooks.running()) return;
      const wait = due() - Date.now();
      if (wait <= 0) return;
      await this.nap(wait);
    }
  }

  /** One sleep that a change, a shutdown or a leadership change cuts short. */
  private nap(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
