// Server probe pods kept across rounds for one leadership term. Each run asks for the servers it
// plans; those already running are probed again, missing or changed ones are created, and servers
// the run's namespaces no longer need are deleted. Safety stays as for any probe pod: owned by a
// ConfigMap of this set, never Ready, restricted, an activeDeadlineSeconds of at most an hour (so a
// set whose controller vanished dies on its own), swept as orphans by the next leader, deleted on
// shutdown. A server close to its deadline is replaced by a run before it is needed past it.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { CniProfile } from '../policy/profiles.ts';
import type { FailedPod, ServerSpec, StartedServer } from '../probe/runner.ts';
import { podFailure, type ServerSource, serverSettled, startedServer } from './launcher.ts';
import { type Owner, ProbePodApi } from './probe-pod-api.ts';
import { LABEL_CLASS, LABEL_PROBE, LABEL_SPEC, type ProbePodContext, serverPod } from './probe-pods.ts';
import { decideServers, type KnownServer, serverSpecHash } from './server-keep.ts';

export interface ServerSetOptions {
  readonly image: string;
  readonly instance: string;
  readonly profile: CniProfile;
  readonly concurrency: number;
  readonly perSecond: number;
  /** The longest a kept server lives (activeDeadlineSeconds); each gets up to 15 % less, so renewals spread. */
  readonly lifetimeSeconds: number;
  /** A server with less life left than this is replaced before a run probes it. */
  readonly minRemainingMs: number;
  readonly waitTimeoutMs: number;
  readonly pollMs: number;
  readonly logger: Logger;
  readonly random?: () => number;
}

export class KubeServerSet implements ServerSource {
  /** The run label of every pod of this set: the orphan sweep spares it while the set lives. */
  readonly setId: string;
  private readonly api: ProbePodApi;
  private readonly options: ServerSetOptions;
  private readonly createdBy = new Map<string, number>();
  /** Which namespaces each run under way owns (a full round and a canary check run side by side). */
  private readonly owners = new Map<string, (namespace: string) => boolean>();

  constructor(kc: k8s.KubeConfig, options: ServerSetOptions) {
    this.options = options;
    this.setId = `s${randomBytes(3).toString('hex')}`;
    this.api = new ProbePodApi(kc.makeApiClient(k8s.CoreV1Api), {
      instance: options.instance,
      runId: this.setId,
      concurrency: options.concurrency,
      perSecond: options.perSecond,
      logger: options.logger,
      purpose: "owns netaudit's server probe pods kept across rounds; deleting it deletes them",
    });
  }

  /** The namespaces `runId` owns until it ends: its ensure() deletes unneeded servers there only. */
  claim(runId: string, owns: (namespace: string) => boolean): void {
    this.owners.set(runId, owns);
  }

  release(runId: string): void {
    this.owners.delete(runId);
    this.createdBy.delete(runId);
  }

  createdFor(runId: string): number {
    return this.createdBy.get(runId) ?? 0;
  }

  get podsCreated(): number {
    return this.api.podsCreated;
  }

  owner(namespace: string): Promise<Owner> {
    return this.api.owner(namespace);
  }

  async ensure(
    specs: readonly ServerSpec[],
    runId: string,
  ): Promise<{ started: StartedServer[]; failed: FailedPod[] }> {
    const { options } = this;
    const owns = this.owners.get(runId) ?? (() => false);
    const listed = await this.api.list(`${LABEL_PROBE}=server`);
    const now = Date.now();
    const hashOf = (spec: ServerSpec): string => serverSpecHash(spec, options.image);
    const decision = decideServers({
      desired: specs,
      known: [...listed.values()].map(knownServer),
      hashOf,
      now,
      minRemainingMs: options.minRemainingMs,
      owns,
    });
    const random = options.random ?? Math.random;
    const failed: FailedPod[] = [];
    const made: { spec: ServerSpec; name: string }[] = [];
    await Promise.all(
      decision.create.map(async (spec) => {
        const name = `${spec.key}-${randomBytes(2).toString('hex')}`;
        const deadlineSeconds = Math.floor(options.lifetimeSeconds * (0.85 + 0.15 * random()));
        const pod = serverPod(await this.context(spec.namespace), spec, {
          name,
          deadlineSeconds,
          specHash: hashOf(spec),
        });
        const error = await this.api.create(pod);
        if (error) failed.push({ name, namespace: spec.namespace, node: spec.node, reason: error });
        else made.push({ spec, name });
      }),
    );
    this.createdBy.set(runId, (this.createdBy.get(runId) ?? 0) + made.length);
    // Servers no run of these namespaces needs any more go while the new ones start.
    const removing = Promise.all(decision.remove.map((k) => this.api.deletePod(k.namespace, k.name)));
    const waiting = [...made, ...decision.await.map((w) => ({ spec: w.spec, name: w.server.name }))];
    const pods =
      waiting.length > 0
        ? await this.api.waitFor(
            waiting.map((w) => `${w.spec.namespace}/${w.name}`),
            serverSettled,
            options.waitTimeoutMs,
            options.pollMs,
            `${LABEL_PROBE}=server`,
          )
        : listed;
    await removing;
    const started: StartedServer[] = [];
    const settle = (spec: ServerSpec, name: string, fresh: boolean): void => {
      const up = startedServer(spec, name, pods.get(`${spec.namespace}/${name}`), options);
      if ('reason' in up) failed.push(up);
      else started.push({ ...up, fresh });
    };
    for (const r of decision.reuse) settle(r.spec, r.server.name, false);
    for (const w of waiting) settle(w.spec, w.name, true);
    if (decision.create.length + decision.remove.length > 0)
      options.logger.debug(
        {
          reused: decision.reuse.length,
          created: made.length,
          awaited: decision.await.length,
          removed: decision.remove.length,
        },
        'server probe pods',
      );
    return { started, failed };
  }

  private async context(namespace: string): Promise<ProbePodContext> {
    return {
      image: this.options.image,
      instance: this.options.instance,
      runId: this.setId,
      owner: await this.api.owner(namespace),
      serverDeadlineSeconds: this.options.lifetimeSeconds,
      clientDeadlineSeconds: this.options.lifetimeSeconds,
    };
  }

  /** Deletes every server and owner of this set (shutdown, lost leadership). Safe to call twice. */
  cleanup(): Promise<void> {
    return this.api.deleteAll();
  }
}

function knownServer(pod: k8s.V1Pod): KnownServer {
  const m = pod.metadata;
  const created = toMs(m?.creationTimestamp) ?? Date.now();
  const started = toMs(pod.status?.startTime) ?? created;
  const phase = pod.status?.phase;
  const state: KnownServer['state'] = m?.deletionTimestamp
    ? 'deleting'
    : podFailure(pod) !== undefined || phase === 'Failed' || phase === 'Succeeded'
      ? 'failed'
      : serverSettled(pod)
        ? 'running'
        : 'pending';
  return {
    namespace: m?.namespace ?? '',
    name: m?.name ?? '',
    classId: m?.labels?.[LABEL_CLASS] ?? '',
    node: pod.spec?.nodeName ?? '',
    specHash: m?.labels?.[LABEL_SPEC] ?? '',
    state,
    expiresAt: started + (pod.spec?.activeDeadlineSeconds ?? 0) * 1000,
    createdAt: created,
  };
}

function toMs(t: Date | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
