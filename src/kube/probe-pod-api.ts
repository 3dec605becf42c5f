// The API calls behind probe pods, for one run label: the owner ConfigMap per namespace, creation
// through a bounded queue (p-queue: so many in flight, so many a second), one LIST by label to see
// them all, and deletion. Both the per-run launcher and the server set kept across rounds use it.
import type * as k8s from '@kubernetes/client-node';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { call, isNotFound, kubeError } from './errors.ts';
import { LABEL_INSTANCE, LABEL_PROBE, LABEL_RUN, ownerConfigMapName } from './probe-pods.ts';

export interface ProbePodApiOptions {
  readonly instance: string;
  /** Every pod and owner made here carries it: one LIST or DELETE by label covers them. */
  readonly runId: string;
  readonly concurrency: number;
  readonly perSecond: number;
  readonly logger: Logger;
  /** What the owner ConfigMap says it is for. */
  readonly purpose: string;
}

export type Owner = { readonly name: string; readonly uid: string };

export class ProbePodApi {
  private readonly core: k8s.CoreV1Api;
  private readonly options: ProbePodApiOptions;
  private readonly queue: PQueue;
  private readonly owners = new Map<string, Promise<Owner>>();
  /** Where this run label's pods were created, and where it made owners. */
  private readonly podNamespaces = new Set<string>();
  private readonly ownerNamespaces = new Set<string>();
  private created = 0;
  /** Set by cancel(): waits end at once and nothing more is created (shutdown, lost leadership). */
  private cancelledNow = false;

  constructor(core: k8s.CoreV1Api, options: ProbePodApiOptions) {
    this.core = core;
    this.options = options;
    this.queue = new PQueue({
      concurrency: options.concurrency,
      intervalCap: options.perSecond,
      interval: 1000,
    });
  }

  get podsCreated(): number {
    return this.created;
  }

  get cancelled(): boolean {
    return this.cancelledNow;
  }

  get runId(): string {
    return this.options.runId;
  }

  /** One owner ConfigMap per namespace; concurrent callers share the same creation. */
  owner(namespace: string): Promise<Owner> {
    let owner = this.owners.get(namespace);
    if (!owner) {
      owner = this.createOwner(namespace);
      this.owners.set(namespace, owner);
      // A failed creation is tried again by the next caller, not remembered.
      owner.catch(() => this.owners.delete(namespace));
    }
    return owner;
  }

  private async createOwner(namespace: string): Promise<Owner> {
    const name = ownerConfigMapName(this.options.runId);
    const body: k8s.V1ConfigMap = {
      metadata: {
        name,
        namespace,
        labels: {
          [LABEL_INSTANCE]: this.options.instance,
          [LABEL_RUN]: this.options.runId,
          [LABEL_PROBE]: 'owner',
        },
        annotations: { 'netaudit.io/purpose': this.options.purpose },
      },
      data: { run: this.options.runId },
    };
    this.ownerNamespaces.add(namespace);
    const made = await call({ verb: 'create', resource: 'configmaps', namespace, name }, () =>
      this.core.createNamespacedConfigMap({ namespace, body }),
    );
    return { name, uid: made.metadata?.uid ?? '' };
  }

  /** Creates the pod; its error as a message, or undefined. */
  async create(pod: k8s.V1Pod): Promise<string | undefined> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    if (this.cancelledNow) return 'cancelled: the round is being shut down';
    this.podNamespaces.add(namespace);
    try {
      await this.queue.add(() => this.core.createNamespacedPod({ namespace, body: pod }));
      this.created++;
      return undefined;
    } catch (e) {
      return kubeError({ verb: 'create', resource: 'pods', namespace, name }, e).message;
    }
  }

  /** Every pod of this run label (narrowed by `selector`), by `namespace/name`. */
  async list(selector = ''): Promise<Map<string, k8s.V1Pod>> {
    const labelSelector = `${LABEL_RUN}=${this.options.runId}${selector ? `,${selector}` : ''}`;
    const pods = await call({ verb: 'list', resource: 'pods' }, () =>
      this.core.listPodForAllNamespaces({ labelSelector }),
    );
    return new Map(pods.items.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
  }

  /** Polls until `done` says every pod is settled, or the timeout; returns the last listing. */
  async waitFor(
    keys: readonly string[],
    done: (pod: k8s.V1Pod | undefined) => boolean,
    timeoutMs: number,
    pollMs: number,
    selector = '',
  ): Promise<Map<string, k8s.V1Pod>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pods = await this.list(selector);
      if (keys.every((k) => done(pods.get(k))) || Date.now() > deadline || this.cancelledNow) return pods;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Deletes one pod now (a server that is no longer wanted); a pod already gone is no error. */
  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.queue.add(() => this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
    } catch (e) {
      if (!isNotFound(e))
        this.options.logger.warn(
          {
            namespace,
            name,
            err: kubeError({ verb: 'delete', resource: 'pods', namespace, name }, e).message,
          },
          'could not delete a probe pod; it dies at its deadline or with the next sweep',
        );
    }
  }

  /** Ends waits, stops creating, and deletes every pod and owner of this run label. Safe to call twice. */
  async deleteAll(): Promise<void> {
    this.cancelledNow = true;
    this.queue.clear();
    const selector = `${LABEL_RUN}=${this.options.runId}`;
    const { instance, logger } = this.options;
    const owners = [...this.ownerNamespaces];
    const podsOnly = [...this.podNamespaces].filter((n) => !this.ownerNamespaces.has(n));
    await Promise.all([
      deleteRun(this.core, instance, owners, selector, logger, 'pods and owners'),
      deleteRun(this.core, instance, podsOnly, selector, logger, 'pods only'),
    ]);
  }
}

/**
 * Deletes probe pods and owners matching `selector` in the namespaces (one call per kind and
 * namespace); `owners only` sweeps ConfigMaps whose pods are already gone, `pods only` deletes the
 * pods of a run whose owners belong to someone else (the kept server set).
 */
export async function deleteRun(
  core: k8s.CoreV1Api,
  instance: string,
  namespaces: readonly string[],
  selector: string,
  logger: Logger,
  what: 'pods and owners' | 'owners only' | 'pods only' = 'pods and owners',
): Promise<void> {
  const labelSelector = `${LABEL_INSTANCE}=${instance},${selector}`;
  await Promise.all(
    namespaces.map(async (namespace) => {
      const calls = [
        [
          'pods',
          () => core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 }),
        ],
        ['configmaps', () => core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector })],
      ] as const;
      const chosen =
        what === 'owners only' ? calls.slice(1) : what === 'pods only' ? calls.slice(0, 1) : calls;
      for (const [resource, fn] of chosen) {
        try {
          await fn();
        } catch (e) {
          if (!isNotFound(e))
            logger.warn(
              {
                namespace,
                resource,
                err: kubeError({ verb: 'deletecollection', resource, namespace }, e).message,
              },
              'cleanup failed',
            );
        }
      }
    }),
  );
}
