// The real probe runner: creates probe pods (bounded: p-queue, 25 in flight, 10 per second), waits for
// them by listing with netaudit's run label (no watch per pod, no exec, no logs), reads the client
// results from the termination message in pod status, and deletes everything it made.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { CniProfile } from '../policy/profiles.ts';
import { podInfo } from '../policy/snapshot.ts';
import { decodeResults } from '../probe/results.ts';
import type {
  ClientOutcome,
  ClientRun,
  FailedPod,
  ProbeRunner,
  ServerSpec,
  StartedServer,
} from '../probe/runner.ts';
import { toPod } from './convert.ts';
import { call } from './errors.ts';
import { deleteRun, type Owner, ProbePodApi } from './probe-pod-api.ts';
import { clientPod, LABEL_INSTANCE, LABEL_RUN, type ProbePodContext, serverPod } from './probe-pods.ts';

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

/** Where a run's servers come from when they are kept across runs (see server-set.ts). */
export interface ServerSource {
  ensure(
    specs: readonly ServerSpec[],
    runId: string,
  ): Promise<{ started: StartedServer[]; failed: FailedPod[] }>;
  /** Server pods created on behalf of this run. */
  createdFor(runId: string): number;
  /**
   * The owner of probe pods in a namespace, kept as long as the servers: a run's client pods use it
   * too, so a run creates and deletes no ConfigMap of its own.
   */
  owner(namespace: string): Promise<Owner>;
}

/** A server pod is settled once it runs with an IP, or has failed for good. */
export function serverSettled(p: k8s.V1Pod | undefined): boolean {
  return (
    p !== undefined &&
    (podFailure(p) !== undefined ||
      (p.status?.phase === 'Running' &&
        !!p.status.podIP &&
        p.status.containerStatuses?.[0]?.state?.running !== undefined))
  );
}

/** The server as probes need it (labels, IP, named ports), or why it cannot serve. */
export function startedServer(
  spec: ServerSpec,
  name: string,
  pod: k8s.V1Pod | undefined,
  options: { readonly profile: CniProfile; readonly waitTimeoutMs: number },
): Omit<StartedServer, 'fresh'> | FailedPod {
  const failure = pod ? podFailure(pod) : 'the pod disappeared';
  const failed = (reason: string): FailedPod => ({
    name,
    namespace: spec.namespace,
    node: spec.node,
    reason,
  });
  if (!pod || failure || pod.status?.phase !== 'Running' || !pod.status.podIP)
    return failed(
      failure ?? `not running after ${options.waitTimeoutMs} ms (phase ${pod?.status?.phase ?? 'unknown'})`,
    );
  const info = podInfo(toPod(pod), options.profile);
  if (info.kind !== 'pod') return failed('unusable pod status');
  return { spec, name, pod: info.pod };
}

export class KubeProbeRunner implements ProbeRunner {
  private readonly api: ProbePodApi;
  private readonly options: LauncherOptions;
  /** Kept across rounds (the controller's): servers come from it instead of being made for this run. */
  private readonly servers: ServerSource | undefined;
  private cleaned = false;

  constructor(kc: k8s.KubeConfig, options: LauncherOptions, servers?: ServerSource) {
    this.options = options;
    this.servers = servers;
    this.api = new ProbePodApi(kc.makeApiClient(k8s.CoreV1Api), {
      instance: options.instance,
      runId: options.runId,
      concurrency: options.concurrency,
      perSecond: options.perSecond,
      logger: options.logger,
      purpose: 'owns the probe pods of one netaudit round; deleting it deletes them',
    });
  }

  get podsCreated(): number {
    return this.api.podsCreated + (this.servers?.createdFor(this.options.runId) ?? 0);
  }

  private async context(namespace: string): Promise<ProbePodContext> {
    return {
      image: this.options.image,
      instance: this.options.instance,
      runId: this.options.runId,
      owner: await (this.servers ?? this.api).owner(namespace),
      serverDeadlineSeconds: this.options.serverDeadlineSeconds,
      clientDeadlineSeconds: this.options.clientDeadlineSeconds,
    };
  }

  private waitFor(
    keys: readonly string[],
    done: (pod: k8s.V1Pod | undefined) => boolean,
  ): Promise<Map<string, k8s.V1Pod>> {
    return this.api.waitFor(keys, done, this.options.waitTimeoutMs, this.options.pollMs);
  }

  async startServers(
    specs: readonly ServerSpec[],
  ): Promise<{ started: StartedServer[]; failed: FailedPod[] }> {
    if (this.servers) return this.servers.ensure(specs, this.options.runId);
    const failed: FailedPod[] = [];
    const createdSpecs: ServerSpec[] = [];
    await Promise.all(
      specs.map(async (spec) => {
        const error = await this.api.create(serverPod(await this.context(spec.namespace), spec));
        if (error) failed.push({ name: spec.key, namespace: spec.namespace, node: spec.node, reason: error });
        else createdSpecs.push(spec);
      }),
    );
    const pods = await this.waitFor(
      createdSpecs.map((s) => `${s.namespace}/${s.key}`),
      serverSettled,
    );
    const started: StartedServer[] = [];
    for (const spec of createdSpecs) {
      const up = startedServer(spec, spec.key, pods.get(`${spec.namespace}/${spec.key}`), this.options);
      if ('reason' in up) failed.push(up);
      else started.push({ ...up, fresh: true });
    }
    return { started, failed };
  }

  async runClients(runs: readonly ClientRun[]): Promise<ClientOutcome[]> {
    const errors = new Map<string, string>();
    await Promise.all(
      runs.map(async (run) => {
        const error = await this.api.create(clientPod(await this.context(run.spec.namespace), run));
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
    if (this.cleaned) return;
    this.cleaned = true;
    await this.api.deleteAll();
  }
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
    await deleteRun(core, instance, ownersOnly.slice(i, i + SWEEP_BATCH), others, logger, 'owners only');
  return pods.items.length;
}

/** Namespaces whose owner ConfigMaps are deleted at once by a sweep. */
const SWEEP_BATCH = 10;
