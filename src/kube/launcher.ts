// The real probe runner: creates probe pods (bounded: p-queue, 25 in flight, 10 per second), waits for
// them by listing with netaudit's run label (no watch per pod, no exec, no logs), reads the client
// results from the termination message in pod status, and deletes everything it made.
import * as k8s from '@kubernetes/client-node';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { ClientSpec, ServerSpec } from '../audit/plan.ts';
import type { ClientOutcome, ClientRun, FailedPod, ProbeRunner, StartedServer } from '../audit/runner.ts';
import type { CniProfile } from '../policy/profiles.ts';
import { podInfo } from '../policy/snapshot.ts';
import { decodeResults } from '../probe/results.ts';
import { toPod } from './convert.ts';
import { call, isNotFound, kubeError } from './errors.ts';
import {
  clientPod,
  LABEL_INSTANCE,
  LABEL_PROBE,
  LABEL_RUN,
  ownerConfigMapName,
  type ProbePodContext,
  serverPod,
} from './probe-pods.ts';

export interface LauncherOptions {
  readonly image: string;
  readonly instance: string;
  readonly runId: string;
  readonly profile: CniProfile;
  readonly concurrency: number;
  readonly perSecond: number;
  readonly serverDeadlineSeconds: number;
  readonly clientDeadlineSeconds: number;
  /** How long to wait for servers to run, or clients to finish. */
  readonly waitTimeoutMs: number;
  readonly pollMs: number;
  readonly logger: Logger;
}

/** Reasons a container never starts that mean "this image cannot run here". */
const IMAGE_FAILURES = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'ImageInspectError',
  'ImageNotSupportedByLab',
  'CommandNotSupportedByLab',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export function podFailure(pod: k8s.V1Pod): string | undefined {
  const status = pod.status;
  const waiting = status?.containerStatuses?.[0]?.state?.waiting;
  if (waiting?.reason && IMAGE_FAILURES.has(waiting.reason)) {
    return `${waiting.reason}: ${waiting.message ?? 'the probe image cannot run'}`;
  }
  if (status?.phase === 'Failed') {
    const t = status.containerStatuses?.[0]?.state?.terminated;
    return `pod failed${status.reason ? ` (${status.reason})` : ''}${t ? `: exit ${t.exitCode}${t.message ? `: ${t.message.slice(0, 200)}` : ''}` : ''}${status.message ? `: ${status.message}` : ''}`;
  }
  return undefined;
}

export function isImageFailure(reason: string): boolean {
  return [...IMAGE_FAILURES].some((r) => reason.startsWith(`${r}:`));
}

export class KubeProbeRunner implements ProbeRunner {
  private readonly core: k8s.CoreV1Api;
  private readonly options: LauncherOptions;
  private readonly queue: PQueue;
  private readonly owners = new Map<string, Promise<{ name: string; uid: string }>>();
  private readonly namespaces = new Set<string>();
  private created = 0;
  private cleaned = false;
  /** Set by cleanup(): waits end at once and nothing more is created (shutdown, lost leadership). */
  private cancelled = false;

  constructor(kc: k8s.KubeConfig, options: LauncherOptions) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
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

  /** One owner ConfigMap per namespace; concurrent callers share the same creation. */
  private owner(namespace: string): Promise<{ name: string; uid: string }> {
    let owner = this.owners.get(namespace);
    if (!owner) {
      owner = this.createOwner(namespace);
      this.owners.set(namespace, owner);
    }
    return owner;
  }

  private async createOwner(namespace: string): Promise<{ name: string; uid: string }> {
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
        annotations: {
          'netaudit.io/purpose': 'owns the probe pods of one netaudit round; deleting it deletes them',
        },
      },
      data: { run: this.options.runId },
    };
    this.namespaces.add(namespace);
    const made = await call({ verb: 'create', resource: 'configmaps', namespace, name }, () =>
      this.core.createNamespacedConfigMap({ namespace, body }),
    );
    return { name, uid: made.metadata?.uid ?? '' };
  }

  private async context(namespace: string): Promise<ProbePodContext> {
    return {
      image: this.options.image,
      instance: this.options.instance,
      runId: this.options.runId,
      owner: await this.owner(namespace),
      serverDeadlineSeconds: this.options.serverDeadlineSeconds,
      clientDeadlineSeconds: this.options.clientDeadlineSeconds,
    };
  }

  private async create(pod: k8s.V1Pod): Promise<string | undefined> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    if (this.cancelled) return 'cancelled: the round is being shut down';
    try {
      await this.queue.add(() => this.core.createNamespacedPod({ namespace, body: pod }));
      this.created++;
      return undefined;
    } catch (e) {
      return kubeError({ verb: 'create', resource: 'pods', namespace, name }, e).message;
    }
  }

  private async list(): Promise<Map<string, k8s.V1Pod>> {
    const pods = await call({ verb: 'list', resource: 'pods' }, () =>
      this.core.listPodForAllNamespaces({ labelSelector: `${LABEL_RUN}=${this.options.runId}` }),
    );
    return new Map(pods.items.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
  }

  /** Polls until `done` says every pod is settled, or the timeout; returns the last listing. */
  private async waitFor(
    keys: readonly string[],
    done: (pod: k8s.V1Pod | undefined) => boolean,
  ): Promise<Map<string, k8s.V1Pod>> {
    const deadline = Date.now() + this.options.waitTimeoutMs;
    for (;;) {
      const pods = await this.list();
      if (keys.every((k) => done(pods.get(k))) || Date.now() > deadline || this.cancelled) return pods;
      await new Promise((r) => setTimeout(r, this.options.pollMs));
    }
  }

  async startServers(
    specs: readonly ServerSpec[],
  ): Promise<{ started: StartedServer[]; failed: FailedPod[] }> {
    const failed: FailedPod[] = [];
    const createdSpecs: ServerSpec[] = [];
    await Promise.all(
      specs.map(async (spec) => {
        const error = await this.create(serverPod(await this.context(spec.namespace), spec));
        if (error) failed.push({ name: spec.key, namespace: spec.namespace, node: spec.node, reason: error });
        else createdSpecs.push(spec);
      }),
    );
    const key = (s: ServerSpec | ClientSpec | ClientRun['spec'], name: string): string =>
      `${s.namespace}/${name}`;
    const running = (p: k8s.V1Pod | undefined): boolean =>
      p !== undefined &&
      (podFailure(p) !== undefined ||
        (p.status?.phase === 'Running' &&
          !!p.status.podIP &&
          p.status.containerStatuses?.[0]?.state?.running !== undefined));
    const pods = await this.waitFor(
      createdSpecs.map((s) => key(s, s.key)),
      running,
    );
    const started: StartedServer[] = [];
    for (const spec of createdSpecs) {
      const pod = pods.get(key(spec, spec.key));
      const failure = pod ? podFailure(pod) : 'the pod disappeared';
      if (!pod || failure || pod.status?.phase !== 'Running' || !pod.status.podIP) {
        failed.push({
          name: spec.key,
          namespace: spec.namespace,
          node: spec.node,
          reason:
            failure ??
            `not running after ${this.options.waitTimeoutMs} ms (phase ${pod?.status?.phase ?? 'unknown'})`,
        });
        continue;
      }
      const info = podInfo(toPod(pod), this.options.profile);
      if (info.kind !== 'pod') {
        failed.push({
          name: spec.key,
          namespace: spec.namespace,
          node: spec.node,
          reason: 'unusable pod status',
        });
        continue;
      }
      started.push({ spec, pod: info.pod });
    }
    return { started, failed };
  }

  async runClients(runs: readonly ClientRun[]): Promise<ClientOutcome[]> {
    const errors = new Map<string, string>();
    await Promise.all(
      runs.map(async (run) => {
        const error = await this.create(clientPod(await this.context(run.spec.namespace), run));
        if (error) errors.set(run.name, error);
      }),
    );
    const finished = (p: k8s.V1Pod | undefined): boolean =>
      p !== undefined &&
      (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || podFailure(p) !== undefined);
    const pods = await this.waitFor(
      runs.filter((r) => !errors.has(r.name)).map((r) => `${r.spec.namespace}/${r.name}`),
      finished,
    );
    return runs.map((run): ClientOutcome => {
      const error = errors.get(run.name);
      if (error) return { run, pod: undefined, results: undefined, failure: error };
      const pod = pods.get(`${run.spec.namespace}/${run.name}`);
      if (!pod) return { run, pod: undefined, results: undefined, failure: 'the pod disappeared' };
      const info = podInfo(toPod(pod), this.options.profile, { finished: true });
      const podOk = info.kind === 'pod' ? info.pod : undefined;
      const message = pod.status?.containerStatuses?.[0]?.state?.terminated?.message;
      if (pod.status?.phase !== 'Succeeded' || message === undefined) {
        return {
          run,
          pod: podOk,
          results: undefined,
          failure:
            podFailure(pod) ??
            `not finished after ${this.options.waitTimeoutMs} ms (phase ${pod.status?.phase ?? 'unknown'})`,
        };
      }
      const decoded = decodeResults(message);
      if (!decoded.ok) return { run, pod: podOk, results: undefined, failure: decoded.error.message };
      // The pod's IP matters to ipBlock rules: the finished pod keeps it in status.
      return { run, pod: podOk, results: decoded.value, failure: undefined };
    });
  }

  async cleanup(): Promise<void> {
    this.cancelled = true;
    if (this.cleaned) return;
    this.cleaned = true;
    this.queue.clear();
    await deleteRun(
      this.core,
      this.options.instance,
      [...this.namespaces],
      `${LABEL_RUN}=${this.options.runId}`,
      this.options.logger,
    );
  }
}

/** Deletes probe pods and owners matching `selector` in the namespaces (one call per kind and namespace). */
async function deleteRun(
  core: k8s.CoreV1Api,
  instance: string,
  namespaces: readonly string[],
  selector: string,
  logger: Logger,
): Promise<void> {
  const labelSelector = `${LABEL_INSTANCE}=${instance},${selector}`;
  await Promise.all(
    namespaces.map(async (namespace) => {
      for (const [resource, fn] of [
        [
          'pods',
          () => core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 }),
        ],
        ['configmaps', () => core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector })],
      ] as const) {
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

/**
 * Deletes probe pods (and owners) of earlier runs of this instance, e.g. after a SIGKILL. Orphan owners
 * are found through their pods (RBAC never lists ConfigMaps cluster-wide): an owner ConfigMap outlives
 * its pods only if netaudit died between deleting the two, so the owners in `sweep` (namespaces where
 * probe pods may have run; the controller passes them once per leadership term) are deleted by label
 * as well, a few namespaces at a time.
 */
export async function deleteOrphans(
  kc: k8s.KubeConfig,
  instance: string,
  /** Runs under way (this round, a canary check beside it): their pods are not orphans. */
  currentRunIds: readonly string[],
  logger: Logger,
  sweep: readonly string[] = [],
): Promise<number> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const others = `${LABEL_RUN} notin (${currentRunIds.join(',')})`;
  const selector = `${LABEL_INSTANCE}=${instance},${others}`;
  const pods = await call({ verb: 'list', resource: 'pods' }, () =>
    core.listPodForAllNamespaces({ labelSelector: selector }),
  );
  const namespaces = new Set(pods.items.map((o) => o.metadata?.namespace ?? ''));
  if (namespaces.size > 0) {
    logger.info(
      { pods: pods.items.length, namespaces: [...namespaces] },
      'deleting probe pods left by an earlier run',
    );
    await deleteRun(core, instance, [...namespaces], others, logger);
  }
  const ownersOnly = sweep.filter((n) => !namespaces.has(n));
  for (let i = 0; i < ownersOnly.length; i += SWEEP_BATCH)
    await deleteOwners(core, instance, ownersOnly.slice(i, i + SWEEP_BATCH), others, logger);
  return pods.items.length;
}

/** Namespaces whose owner ConfigMaps are deleted at once by a sweep. */
const SWEEP_BATCH = 10;

async function deleteOwners(
  core: k8s.CoreV1Api,
  instance: string,
  namespaces: readonly string[],
  selector: string,
  logger: Logger,
): Promise<void> {
  const labelSelector = `${LABEL_INSTANCE}=${instance},${selector}`;
  await Promise.all(
    namespaces.map(async (namespace) => {
      try {
        await core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector });
      } catch (e) {
        if (!isNotFound(e))
          logger.warn(
            {
              namespace,
              err: kubeError({ verb: 'deletecollection', resource: 'configmaps', namespace }, e).message,
            },
            'owner sweep failed',
          );
      }
    }),
  );
}
