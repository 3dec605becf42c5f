// The kinds netaudit reads from manifests, with the API version it understands for each and the
// name rule Kubernetes applies to it. A kind with the same name in another API group (Calico's
// projectcalico.org NetworkPolicy, say) is a different resource and is skipped like any other.

import { editDistance } from './edit-distance.ts';
import type { PathSegment } from './field-path.ts';
import { dns1123Label, dns1123Subdomain } from './k8s-names.ts';

export type KindRole = 'namespace' | 'pod' | 'policy' | 'cluster-policy' | 'workload';

export interface KindInfo {
  readonly kind: string;
  readonly apiVersion: string;
  /** Groups this kind was served from before (or is): a mismatching version there is an error, not a skip. */
  readonly groups: readonly string[];
  readonly role: KindRole;
  /** For workloads, where the pod template sits. */
  readonly templatePath: readonly PathSegment[];
  readonly checkName: (name: string) => string[];
}

const TEMPLATE: readonly PathSegment[] = ['spec', 'template'];

function info(
  kind: string,
  apiVersion: string,
  groups: readonly string[],
  role: KindRole,
  checkName: (name: string) => string[],
  templatePath: readonly PathSegment[] = TEMPLATE,
): KindInfo {
  return { kind, apiVersion, groups, role, templatePath, checkName };
}

const subdomain = (n: string): string[] => dns1123Subdomain(n);

export const KINDS: ReadonlyMap<string, KindInfo> = new Map(
  [
    info('Namespace', 'v1', [''], 'namespace', (n) => dns1123Label(n)),
    info('Pod', 'v1', [''], 'pod', subdomain),
    info('NetworkPolicy', 'networking.k8s.io/v1', ['networking.k8s.io', 'extensions'], 'policy', subdomain),
    // The version Cilium 1.20 and Calico 3.32 serve (network-policy-api v0.2.0); cluster-scoped.
    info(
      'ClusterNetworkPolicy',
      'policy.networking.k8s.io/v1alpha2',
      ['policy.networking.k8s.io'],
      'cluster-policy',
      subdomain,
    ),
    info('Deployment', 'apps/v1', ['apps', 'extensions'], 'workload', subdomain),
    // StatefulSet names become pod host names, so Kubernetes requires a DNS label.
    info('StatefulSet', 'apps/v1', ['apps'], 'workload', (n) => dns1123Label(n)),
    info('DaemonSet', 'apps/v1', ['apps', 'extensions'], 'workload', subdomain),
    info('ReplicaSet', 'apps/v1', ['apps', 'extensions'], 'workload', subdomain),
    info('ReplicationController', 'v1', [''], 'workload', subdomain),
    // Job names end up in the job-name label (63 characters); CronJob names get a suffix (52).
    info('Job', 'batch/v1', ['batch'], 'workload', (n) => dns1123Subdomain(n, 63)),
    info('CronJob', 'batch/v1', ['batch'], 'workload', (n) => dns1123Subdomain(n, 52), [
      'spec',
      'jobTemplate',
      'spec',
      'template',
    ]),
  ].map((k) => [k.kind, k]),
);

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** How a kind is written when case, spaces, dashes and a plural are ignored: `Network Policies` -> `networkpolicy`. */
function normalKind(kind: string): string {
  const k = kind.toLowerCase().replace(/[\s_.-]+/g, '');
  if (k.endsWith('ies')) return `${k.slice(0, -3)}y`;
  if (k.endsWith('sses')) return k.slice(0, -2);
  return k.endsWith('s') && !k.endsWith('ss') ? k.slice(0, -1) : k;
}

/**
 * Whether `group` could be a slip for one of `info`'s groups rather than a CRD's own group: a CRD's
 * group always has a dot, so a group without one (or differing only in case, or by two letters from
 * ours) is a mistake.
 */
function nearMissGroup(info: KindInfo, group: string): boolean {
  if (info.groups.includes(group) || !group.includes('.')) return true;
  return info.groups.some((g) => g !== '' && (g === group.toLowerCase() || editDistance(g, group) <= 2));
}

/**
 * For a kind netaudit does not read: the kind it probably meant (`networkpolicy`, `Pods`,
 * `Network Policy`), unless the apiVersion says it belongs to someone else's API group.
 */
export function nearMissKind(kind: string, apiVersion: unknown): KindInfo | undefined {
  const wanted = normalKind(kind);
  for (const info of KINDS.values()) {
    const ours = normalKind(info.kind);
    const close = ours === wanted || (ours.length >= 6 && editDistance(ours, wanted) <= 1);
    if (!close) continue;
    if (typeof apiVersion !== 'string' || nearMissGroup(info, groupOf(apiVersion))) return info;
  }
  return undefined;
}

/** For a kind netaudit reads given with another apiVersion: true if that is a mistake, not a CRD of the same name. */
export function nearMissApiVersion(info: KindInfo, apiVersion: string): boolean {
  return nearMissGroup(info, groupOf(apiVersion));
}
