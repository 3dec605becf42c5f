// A watch that survives everything the API server does:
//  - 410 Gone: client-node relists (through our rate-limited list function);
//  - a silent dead stream: client-node's 30 s inactivity timeout re-watches; on top, a watchdog
//    restarts a watch that saw no connect, event or bookmark for `watchdogMs` (2 minutes);
//  - any other error (client-node stops the informer for good): restarted with jittered backoff;
//  - relist storms: at most one LIST per resource per `minListIntervalMs` (30 s), whatever happens;
//  - stop() is final: its own abort error never resurrects the informer.
// Bookmarks are requested so that a quiet resource keeps a fresh resourceVersion (fewer 410s).
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiFailure, formatApiFailure } from './errors.ts';

export interface ListPage {
  readonly limit: number;
  readonly _continue?: string;
}

export interface ResilientInformerOptions<T extends k8s.KubernetesObject> {
  readonly resource: string;
  readonly path: string;
  /** One page of the LIST: the informer pages through with `limit` and `_continue`. */
  readonly list: (page: ListPage) => Promise<k8s.KubernetesListObject<T>>;
  /** Objects per LIST page (default 500, as client-go's reflector). */
  readonly pageSize?: number;
  readonly labelSelector?: string;
  readonly logger: Logger;
  readonly minListIntervalMs?: number;
  readonly watchdogMs?: number;
  readonly maxBackoffMs?: number;
  readonly onList?: () => void;
  readonly onRestart?: (reason: string) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Applied to every listed and watched object before the cache stores it (client-go's
   * TransformFunc): the cache holds every object for the life of the process, so dropping what is
   * never read (managedFields above all) is most of its memory. Must keep metadata.name, namespace
   * and resourceVersion, which the cache keys and compares by.
   */
  readonly transform?: (obj: T) => T;
}

export interface InformerHandlers<T> {
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
}

class BookmarkWatch extends k8s.Watch {
  private readonly transform: ((obj: never) => unknown) | undefined;

  constructor(kc: k8s.KubeConfig, transform: ((obj: never) => unknown) | undefined) {
    super(kc);
    this.transform = transform;
  }

  override watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const transform = this.transform;
    const cb = transform
      ? (phase: string, apiObj: unknown, watchObj?: unknown): void =>
          // BOOKMARK and ERROR objects are not cached (and a transform may not expect them).
          callback(
            phase,
            phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED'
              ? transform(apiObj as never)
              : apiObj,
            watchObj,
          )
      : callback;
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true }, cb, done);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class ResilientInformer<T extends k8s.KubernetesObject> {
  private readonly options: ResilientInformerOptions<T>;
  private readonly informer: k8s.ListWatch<T>;
  private stopped = false;
  private started = false;
  private restarting = false;
  private synced = false;
  private lastActivity = 0;
  private lastList = Number.NEGATIVE_INFINITY;
  private failures = 0;
  /** Bumped by every error, so a start that failed inside client-node is not taken as synced. */
  private errors = 0;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(kc: k8s.KubeConfig, options: ResilientInformerOptions<T>, handlers: InformerHandlers<T>) {
    this.options = options;
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? defaultSleep;
    const minInterval = options.minListIntervalMs ?? 30_000;
    const rateLimitedList = async (): Promise<k8s.KubernetesListObject<T>> => {
      const wait = this.lastList + minInterval - now();
      if (wait > 0) {
        options.logger.info(
          { resource: options.resource, waitMs: wait },
          'list delayed: at most one list per interval',
        );
        await sleep(wait);
      }
      this.lastList = now();
      options.onList?.();
      // Page by page, each page transformed before the next is fetched: a 10k-pod LIST never sits
      // in memory whole and untransformed. Pages of one LIST are a consistent snapshot.
      const transform = options.transform;
      const limit = options.pageSize ?? 500;
      let list = await options.list({ limit });
      const items = transform ? list.items.map((o) => transform(o)) : [...list.items];
      while (list.metadata?._continue) {
        list = await options.list({ limit, _continue: list.metadata._continue });
        for (const o of list.items) items.push(transform ? transform(o) : o);
      }
      return { ...list, items };
    };
    this.informer = new k8s.ListWatch<T>(
      options.path,
      new BookmarkWatch(kc, options.transform as ((obj: never) => unknown) | undefined),
      rateLimitedList,
      false,
      options.labelSelector,
    );
    const guard = (fn: (obj: T) => void) => (obj: T) => {
      this.lastActivity = now();
      try {
        fn(obj);
      } catch (e) {
        // One bad object is logged and skipped: it never stops the watch.
        options.logger.error(
          { resource: options.resource, err: e, object: obj.metadata?.name },
          'handler failed',
        );
      }
    };
    this.informer.on('add', guard(handlers.add));
    this.informer.on('update', guard(handlers.update));
    this.informer.on('delete', guard(handlers.delete));
    this.informer.on('connect', () => {
      this.lastActivity = now();
    });
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return; // stop() aborts the request, which reports an error: not a failure.
      this.errors++;
      this.synced = false;
      const failure = apiFailure(err);
      void this.restart(`watch error: ${formatApiFailure(failure)}`, failure.retryable);
    });
  }

  /** True once a list succeeded and no error happened since. */
  get isSynced(): boolean {
    return this.synced;
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    await this.startOnce();
    const watchdogMs = this.options.watchdogMs ?? 120_000;
    const now = this.options.now ?? Date.now;
    this.watchdog = setInterval(
      () => {
        if (!this.stopped && !this.restarting && now() - this.lastActivity > watchdogMs) {
          this.synced = false;
          void this.restart(`no event, bookmark or reconnect for ${Math.round(watchdogMs / 1000)} s`);
        }
      },
      Math.min(watchdogMs, 10_000),
    );
    this.watchdog.unref();
  }

  private async startOnce(): Promise<void> {
    this.lastActivity = (this.options.now ?? Date.now)();
    const errorsBefore = this.errors;
    try {
      await this.informer.start();
      if (!this.stopped && this.errors === errorsBefore) {
        this.synced = true;
        this.failures = 0;
      }
    } catch (e) {
      if (!this.stopped) void this.restart(`start failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** `retryable` false: the API refused (RBAC, no such API); it is tried again, but said at error level. */
  private async restart(reason: string, retryable = true): Promise<void> {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    this.failures++;
    const cap = this.options.maxBackoffMs ?? 30_000;
    const base = Math.min(cap, 500 * 2 ** Math.min(this.failures, 10));
    const delay = base / 2 + Math.random() * (base / 2);
    this.options.logger[retryable ? 'warn' : 'error'](
      { resource: this.options.resource, reason, retryInMs: Math.round(delay), retryable },
      retryable ? 'restarting watch' : 'restarting watch; the API refused it and will until that is fixed',
    );
    this.options.onRestart?.(reason);
    try {
      await this.informer.stop();
      await (this.options.sleep ?? defaultSleep)(delay);
    } finally {
      this.restarting = false;
    }
    if (!this.stopped) await this.startOnce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.synced = false;
    if (this.watchdog) clearInterval(this.watchdog);
    await this.informer.stop();
  }
}
