// ClusterNetworkPolicy from the API server: a CRD (policy.networking.k8s.io/v1alpha2), present only
// where an implementation installed it. A cluster without it (404) or a netaudit without the RBAC to
// read it (403) has none as far as netaudit can know: audit and the controller go on and say so.
import * as k8s from '@kubernetes/client-node';
import type { ClusterNetworkPolicy } from '../core/k8s.ts';
import { apiFailure, call, formatApiFailure } from './errors.ts';
import type { ListPage } from './informer.ts';

export const CNP_GROUP = 'policy.networking.k8s.io';
export const CNP_VERSION = 'v1alpha2';
export const CNP_PLURAL = 'clusternetworkpolicies';
export const CNP_PATH = `/apis/${CNP_GROUP}/${CNP_VERSION}/${CNP_PLURAL}`;

export interface RawClusterPolicy extends k8s.KubernetesObject {
  readonly spec?: unknown;
}

/** The fields netaudit reads (metadata, spec); a live object is already defaulted and validated. */
export function toClusterNetworkPolicy(o: RawClusterPolicy): ClusterNetworkPolicy {
  const meta = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: meta.name,
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      ...(meta.uid ? { uid: meta.uid } : {}),
    },
    spec: (o.spec ?? {}) as ClusterNetworkPolicy['spec'],
  };
}

/** One page of the LIST, typed for the informer. */
export async function listClusterPolicies(
  kc: k8s.KubeConfig,
  page: Partial<ListPage> = {},
): Promise<k8s.KubernetesListObject<RawClusterPolicy>> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const list = (await api.listClusterCustomObject({
    group: CNP_GROUP,
    version: CNP_VERSION,
    plural: CNP_PLURAL,
    ...(page.limit !== undefined ? { limit: page.limit } : {}),
    ...(page._continue !== undefined ? { _continue: page._continue } : {}),
  })) as k8s.KubernetesListObject<RawClusterPolicy>;
  return { ...list, items: list.items ?? [] };
}

export type ClusterPolicyRead =
  | { readonly kind: 'read'; readonly policies: ClusterNetworkPolicy[] }
  /** Not served or not readable: treated as none, for the reason given. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Why a failed LIST means "no ClusterNetworkPolicy" rather than a failed audit, or undefined. */
export function unavailableReason(e: unknown): string | undefined {
  const f = apiFailure(e);
  if (f.status === 404)
    return `ClusterNetworkPolicy (${CNP_GROUP}/${CNP_VERSION}) is not served by this cluster (no CRD): treated as none`;
  if (f.status === 403)
    return `no permission to list ClusterNetworkPolicies (${formatApiFailure(f)}): treated as none; grant list and watch on ${CNP_PLURAL}.${CNP_GROUP}`;
  return undefined;
}

export async function readClusterPolicies(kc: k8s.KubeConfig): Promise<ClusterPolicyRead> {
  try {
    const policies: ClusterNetworkPolicy[] = [];
    let page = await call({ verb: 'list', resource: CNP_PLURAL }, () =>
      listClusterPolicies(kc, { limit: 500 }),
    );
    policies.push(...page.items.map(toClusterNetworkPolicy));
    while (page.metadata?._continue) {
      const next: string = page.metadata._continue;
      page = await call({ verb: 'list', resource: CNP_PLURAL }, () =>
        listClusterPolicies(kc, { limit: 500, _continue: next }),
      );
      policies.push(...page.items.map(toClusterNetworkPolicy));
    }
    return { kind: 'read', policies };
  } catch (e) {
    const reason = unavailableReason(e);
    if (reason === undefined) throw e;
    return { kind: 'unavailable', reason };
  }
}
