// The fields netaudit reads, per kind, and a projection of an object onto them. Objects from the API
// server carry far more (managedFields, status, volumes, env): projecting first keeps the checks
// and the copies that follow proportional to what netaudit reads. What is kept is exactly what the
// schemas in manifest-schema.ts look at; NetworkPolicy specs are kept whole, because unknown fields
// there are reported (a typo such as `ingres` silently changes what a policy allows).

import type { PathSegment } from './field-path.ts';
import { KINDS, type KindRole, nearMissKind } from './kinds.ts';
import { isListKind } from './list-kind.ts';

/** `true`: keep the value whole; a map: keep only these keys (of a map, or of each map in a list). */
export type Fields = true | { readonly [key: string]: Fields };

const META: Fields = { name: true, namespace: true, labels: true, uid: true, resourceVersion: true };
const CONTAINER: Fields = { name: true, image: true, ports: true };
const POD_SPEC: Fields = {
  containers: CONTAINER,
  initContainers: CONTAINER,
  hostNetwork: true,
  nodeName: true,
};
const TEMPLATE: Fields = { metadata: META, spec: POD_SPEC };
const HEAD = { apiVersion: true, kind: true, metadata: META } as const;

const BY_ROLE: Readonly<Record<KindRole | 'cronjob', Fields>> = {
  namespace: HEAD,
  pod: { ...HEAD, spec: POD_SPEC, status: { phase: true, podIP: true, podIPs: true, hostIP: true } },
  policy: { ...HEAD, spec: true, status: true },
  'cluster-policy': { ...HEAD, spec: true, status: true },
  workload: { ...HEAD, spec: { template: TEMPLATE } },
  cronjob: { ...HEAD, spec: { jobTemplate: { spec: { template: TEMPLATE } } } },
};

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function project(value: unknown, fields: Fields): unknown {
  if (fields === true) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, fields));
  // Not a map where one is expected: kept as it is, so that the shape check reports it.
  if (!isMap(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    if (Object.hasOwn(value, key)) out[key] = project(value[key], fields[key] as Fields);
  }
  return out;
}

/** Whether `path` (from an object of this role and kind) is inside what netaudit reads of it. */
export function readsPath(path: readonly PathSegment[], role: KindRole, kind: string): boolean {
  let fields: Fields = kind === 'CronJob' ? BY_ROLE.cronjob : BY_ROLE[role];
  for (const segment of path) {
    if (fields === true) return true;
    if (typeof segment === 'number') continue; // each item of a list is read as the list is
    const next = Object.hasOwn(fields, segment) ? fields[segment] : undefined;
    if (next === undefined) return false;
    fields = next;
  }
  return true;
}

/** `raw` reduced to the fields netaudit reads for an object of this role (`cronjob` for CronJobs). */
export function readFields(
  raw: Record<string, unknown>,
  role: KindRole,
  kind: string,
): Record<string, unknown> {
  const fields = kind === 'CronJob' ? BY_ROLE.cronjob : BY_ROLE[role];
  return project(raw, fields) as Record<string, unknown>;
}

/**
 * The fields read from a document of `kind`: everything for lists (their items say what they are)
 * and for kinds that are near misses of ours (they are reported, with lines); only apiVersion and
 * kind for kinds netaudit does not read.
 */
export function fieldsForKind(kind: string): Fields {
  if (isListKind(kind, true)) return true;
  const info = KINDS.get(kind);
  if (info !== undefined) return kind === 'CronJob' ? BY_ROLE.cronjob : BY_ROLE[info.role];
  if (nearMissKind(kind, undefined) !== undefined) return true;
  return { apiVersion: true, kind: true };
}
