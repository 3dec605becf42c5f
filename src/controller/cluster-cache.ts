// The controller's view of the cluster: watches of Namespaces, Pods, NetworkPolicies (and
// ClusterNetworkPolicies when the cluster serves them) kept in caches, and the incremental
// expectation engine fed from them. It tells its listener about each change; rounds plan from the
// engine without rebuilding anything.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterNetworkPolicy, Namespace, NetworkPolicy, Pod } from '../core/k8s.ts';
import { type Change, type EngineOptions, ExpectationEngine } from '../expect/engine.ts';
import {
  CNP_PATH,
  listClusterPolicies,
  type RawClusterPolicy,
  toClusterNetworkPolicy,
  unavailableReason,
} from '../kube/cluster-policies.ts';
import { toNamespace, toNetworkPolicy, toPod } from '../kube/convert.ts';
import { ResilientInformer } from '../kube/informer.ts';
import { LABEL_PROBE } from '../kube/probe-pods.ts';
import type { CniProfile } from '../policy/profiles.ts';
import type { Metrics } from '../report/metrics.ts';
import { CANARY_POLICY, canaryPods, canaryPolicy } from './canary.ts';

export type ObjectKind = 'namespace' | 'pod' | 'policy' | 'cluster-policy';

/** Told about every change the engine takes (never during the initial bulk load). */
export interface ChangeListener {
  /** Just before the engine changes: the moment to read verdicts as they were. */
  beforeChange(): void;
  afterChange(kind: ObjectKind, change: Change): void;
}

export interface ClusterCacheOptions {
  readonly profile: CniProfile;
  readonly engine: EngineOptions;
  /** The canary's stand-in pods and policy live in the engine beside the cluster's objects. */
  readonly canaryNamespace: string | undefined;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'lists' | 'informerRestarts'>;
}

export interface CachedObjects {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
  clusterPolicies: ClusterNetworkPolicy[];
}

type AnyInformer = ResilientInformer<k8s.KubernetesObject>;

export class ClusterCache {
  private readonly kc: k8s.KubeConfig;
  private readonly options: ClusterCacheOptions;
  private readonly listener: ChangeListener;
  private engineNow: ExpectationEngine;
  /**
   * Until the first LISTs are in, events only fill the caches: the engine is then built in one bulk
   * load. Fed object by object, the initial sync costs quadratic time and a diff per object.
   */
  private bulkLoading = true;
  private readonly informers: AnyInformer[] = [];
  private namespaceInformer: AnyInformer | undefined;
  private podInformer: AnyInformer | undefined;
  private policyInformer: AnyInformer | undefined;
  /** Watches ClusterNetworkPolicies when the cluster serves them (and netaudit may read them). */
  private cnpInformer: AnyInformer | undefined;

  constructor(kc: k8s.KubeConfig, options: ClusterCacheOptions, listener: ChangeListener) {
    this.kc = kc;
    this.options = options;
    this.listener = listener;
    this.engineNow = new ExpectationEngine(options.profile, options.engine);
  }

  get engine(): ExpectationEngine {
    return this.engineNow;
  }

  /** Every watch has listed and is watching (false while the API server is away). */
  get synced(): boolean {
    return this.informers.length > 0 && this.informers.every((i) => i.isSynced);
  }

  /** Lists everything, builds the engine in one load, then follows the watches. */
  async start(): Promise<void> {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const net = this.kc.makeApiClient(k8s.NetworkingV1Api);
    const { logger: log, metrics } = this.options;
    const common = (resource: string) => ({
      resource,
      logger: log,
      onList: () => metrics.lists.inc({ resource }),
      onRestart: () => metrics.informerRestarts.inc({ resource }),
    });
    const engine = () => this.engineNow;
    this.namespaceInformer = new ResilientInformer<k8s.V1Namespace>(
      this.kc,
      {
        ...common('namespaces'),
        path: '/api/v1/namespaces',
        list: (page) => core.listNamespace(page),
        transform: withoutManagedFields,
      },
      {
        add: (o) => this.apply('namespace', () => engine().upsertNamespace(toNamespace(o))),
        update: (o) => this.apply('namespace', () => engine().upsertNamespace(toNamespace(o))),
        delete: (o) => this.apply('namespace', () => engine().deleteNamespace(o.metadata?.name ?? '')),
      },
    ) as unknown as AnyInformer;
    this.podInformer = new ResilientInformer<k8s.V1Pod>(
      this.kc,
      {
        ...common('pods'),
        path: '/api/v1/pods',
        // netaudit's own probe pods are not workloads: never feed them to the engine.
        labelSelector: `!${LABEL_PROBE}`,
        list: (page) => core.listPodForAllNamespaces({ ...page, labelSelector: `!${LABEL_PROBE}` }),
        transform: cachedPod,
      },
      {
        add: (o) => this.apply('pod', () => engine().upsertPod(toPod(o))),
        update: (o) => this.apply('pod', () => engine().upsertPod(toPod(o))),
        delete: (o) =>
          this.apply('pod', () => engine().deletePod(o.metadata?.namespace ?? '', o.metadata?.name ?? '')),
      },
    ) as unknown as AnyInformer;
    this.policyInformer = new ResilientInformer<k8s.V1NetworkPolicy>(
      this.kc,
      {
        ...common('networkpolicies'),
        path: '/apis/networking.k8s.io/v1/networkpolicies',
        list: (page) => net.listNetworkPolicyForAllNamespaces(page),
        transform: withoutManagedFields,
      },
      {
        add: (o) => this.apply('policy', () => engine().upsertPolicy(toNetworkPolicy(o))),
        update: (o) => this.apply('policy', () => engine().upsertPolicy(toNetworkPolicy(o))),
        delete: (o) =>
          this.apply('policy', () =>
            engine().deletePolicy(o.metadata?.namespace ?? '', o.metadata?.name ?? ''),
          ),
      },
    ) as unknown as AnyInformer;
    this.informers.push(this.namespaceInformer, this.podInformer, this.policyInformer);
    // ClusterNetworkPolicy is a CRD: without it (or without the RBAC to read it) there are none, and
    // the controller goes on. It is looked for once at start: a CRD installed later needs a restart.
    const cnpMissing = await listClusterPolicies(this.kc, { limit: 1 }).then(
      () => undefined,
      (e: unknown) => unavailableReason(e),
    );
    if (cnpMissing !== undefined) log.info({ resource: 'clusternetworkpolicies' }, cnpMissing);
    else {
      this.cnpInformer = new ResilientInformer<RawClusterPolicy>(
        this.kc,
        {
          ...common('clusternetworkpolicies'),
          path: CNP_PATH,
          list: (page) => listClusterPolicies(this.kc, page),
          transform: withoutManagedFields,
        },
        {
          add: (o) =>
            this.apply('cluster-policy', () => engine().upsertClusterPolicy(toClusterNetworkPolicy(o))),
          update: (o) =>
            this.apply('cluster-policy', () => engine().upsertClusterPolicy(toClusterNetworkPolicy(o))),
          delete: (o) =>
            this.apply('cluster-policy', () => engine().deleteClusterPolicy(o.metadata?.name ?? '')),
        },
      ) as unknown as AnyInformer;
      this.informers.push(this.cnpInformer);
    }
    await Promise.all(this.informers.map((i) => i.start()));
    // Synchronous from here to `bulkLoading = false`: no event can slip between the caches and the load.
    this.engineNow = ExpectationEngine.from(this.objects(), this.options.profile, this.options.engine);
    for (const issue of this.engineNow.loadIssues)
      log.warn(
        { object: `${issue.kind} ${issue.namespace}/${issue.name}`, field: issue.field },
        issue.message,
      );
    this.bulkLoading = false;
  }

  private apply(kind: ObjectKind, fn: () => Change): void {
    if (this.bulkLoading) return;
    this.listener.beforeChange();
    const change = fn();
    this.listener.afterChange(kind, change);
  }

  /**
   * What the caches hold, in the engine's shapes, with the canary's stand-in pods (never created:
   * probe pods imitate them), its policy and namespace when the canary is on.
   */
  objects(): CachedObjects {
    const namespaces = (this.namespaceInformer?.list() ?? []).map((o) => toNamespace(o as k8s.V1Namespace));
    const pods = (this.podInformer?.list() ?? []).map((o) => toPod(o as k8s.V1Pod));
    const policies = (this.policyInformer?.list() ?? []).map((o) =>
      toNetworkPolicy(o as k8s.V1NetworkPolicy),
    );
    const clusterPolicies = (this.cnpInformer?.list() ?? []).map((o) =>
      toClusterNetworkPolicy(o as RawClusterPolicy),
    );
    const canary = this.options.canaryNamespace;
    if (canary !== undefined) {
      pods.push(...canaryPods(canary));
      if (!policies.some((p) => p.metadata.namespace === canary && p.metadata.name === CANARY_POLICY))
        policies.push(canaryPolicy(canary));
      if (!namespaces.some((n) => n.metadata.name === canary))
        namespaces.push({ metadata: { name: canary } });
    }
    return { namespaces, pods, policies, clusterPolicies };
  }

  /** Names of the namespaces the cache holds. */
  namespaceNames(): string[] {
    return (this.namespaceInformer?.list() ?? []).map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

// What the informer caches keep: they hold every object for the life of the process, and
// managedFields alone is often a third of an object. A Pod keeps only what toPod reads (plus the
// name, namespace and resourceVersion the cache keys and compares by): a real Pod is ~7 KB of JSON,
// mostly spec and status fields netaudit never looks at.
function withoutManagedFields<T extends k8s.KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export function cachedPod(pod: k8s.V1Pod): k8s.V1Pod {
  const m = pod.metadata;
  const spec = pod.spec;
  const status = pod.status;
  return {
    ...(pod.apiVersion !== undefined ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind !== undefined ? { kind: pod.kind } : {}),
    metadata: {
      ...(m?.name !== undefined ? { name: m.name } : {}),
      ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
      ...(m?.uid !== undefined ? { uid: m.uid } : {}),
      ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m?.labels !== undefined ? { labels: m.labels } : {}),
    },
    ...(spec
      ? {
          spec: {
            containers: (spec.containers ?? []).map((c) => ({
              name: c.name,
              ...(c.image !== undefined ? { image: c.image } : {}),
              ...(c.ports !== undefined
                ? {
                    ports: c.ports.map((p) => ({
                      containerPort: p.containerPort,
                      ...(p.name !== undefined ? { name: p.name } : {}),
                      ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
                    })),
                  }
                : {}),
            })),
            ...(spec.hostNetwork !== undefined ? { hostNetwork: spec.hostNetwork } : {}),
            ...(spec.nodeName !== undefined ? { nodeName: spec.nodeName } : {}),
          },
        }
      : {}),
    ...(status
      ? {
          status: {
            ...(status.phase !== undefined ? { phase: status.phase } : {}),
            ...(status.podIP !== undefined ? { podIP: status.podIP } : {}),
            ...(status.podIPs !== undefined ? { podIPs: status.podIPs.map((p) => ({ ip: p.ip })) } : {}),
            ...(status.hostIP !== undefined ? { hostIP: status.hostIP } : {}),
          },
        }
      : {}),
  };
}
