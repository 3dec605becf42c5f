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

/** Fields with each map's keys listed once: the projection below runs once per object read. */
type Compiled = true | { readonly keys: readonly string[]; readonly below: readonly Compiled[] };

function compile(fields: Fields): Compiled {
  if (fields === true) return true;
  const keys = Object.keys(fields);
  return { keys, below: keys.map((k) => compile(fields[k] as Fields)) };
}

const COMPILED: Readonly<Record<KindRole | 'cronjob', Compiled>> = {
  namespace: compile(BY_ROLE.namespace),
  pod: compile(BY_ROLE.pod),
  policy: compile(BY_ROLE.policy),
  'cluster-policy': compile(BY_ROLE['cluster-policy']),
  workload: compile(BY_ROLE.workload),
  cronjob: compile(BY_ROLE.cronjob),
};

function project(value: unknown, fields: Compiled): unknown {
  if (fields === true) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, fields));
  // Not a map where one is expected: kept as it is, so that the shape check reports it.
  if (!isMap(value)) return value;
  const out: Record<string, unknown> = {};
  const { keys, below } = fields;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (Object.hasOwn(value, key)) out[key] = project(value[key], below[i] as Compiled);
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

/**
 * `raw` reduced to the fields netaudit reads for an object of this role (`cronjob` for CronJobs).
 * `head`, when given, stands for raw's kind and apiVersion (a List's defaults filled in): as if
 * `{ ...raw, ...head }` were read, without copying raw.
 */
export function readFields(
  raw: Record<string, unknown>,
  role: KindRole,
  kind: string,
  head?: { readonly kind: string; readonly apiVersion: string },
): Record<string, unknown> {
  const fields = COMPILED[kind === 'CronJob' ? 'cronjob' : role];
  if (head === undefined) return project(raw, fields) as Record<string, unknown>;
  if (fields === true) return { ...raw, ...head };
  const out: Record<string, unknown> = {};
  const { keys, below } = fields;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key === 'kind') out.kind = head.kind;
    else if (key === 'apiVersion') out.apiVersion = head.apiVersion;
    else if (Object.hasOwn(raw, key)) out[key] = project(raw[key], below[i] as Compiled);
  }
  return out;
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
