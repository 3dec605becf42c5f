// One object from a manifest, checked and built: its shape (zod), Kubernetes' rules for the fields
// netaudit reads, then the defaulted copy netaudit works on. Returns every issue found (so a user
// fixes them in one go) and the object only when none is an error.

import type { z } from 'zod';
import {
  type ClusterNetworkPolicy,
  NAMESPACE_NAME_LABEL,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '../core/k8s.ts';
import { defaultNetworkPolicy, defaultPodSpec, namespaceLabels } from './defaults.ts';
import { fastNamespace, fastNetworkPolicy, fastPod, NO } from './fast-shape.ts';
import { dns1123Label } from './k8s-names.ts';
import type { KindInfo } from './kinds.ts';
import { type Schemas, zodSchemas } from './manifest-schema.ts';
import type { ObjectRef } from './object-ref.ts';
import {
  type FieldIssue,
  validateLabels,
  validateNetworkPolicySpec,
  validatePodSpec,
  validatePodStatus,
} from './validate.ts';
import { validateClusterNetworkPolicySpec } from './validate-cluster.ts';
import { fromZodIssue } from './zod-issues.ts';

export type Built =
  | { readonly role: 'namespace'; readonly object: Namespace }
  | { readonly role: 'policy'; readonly object: NetworkPolicy }
  | { readonly role: 'cluster-policy'; readonly object: ClusterNetworkPolicy }
  | { readonly role: 'pod'; readonly object: Pod }
  /** A workload's pod template as one Pod; the ref of the workload stays the object's own ref. */
  | { readonly role: 'workload'; readonly object: Pod };

export interface CheckResult {
  readonly built?: Built;
  readonly issues: readonly FieldIssue[];
}

/** The name under which an object without one is reported. */
export const NO_NAME = '(no name)';

/**
 * Shape check: unknown fields (reported by the strict schema) are warnings; anything else is an
 * error and gives no data. The stripping schema then gives the typed value without unknown fields.
 */
function shape<K extends keyof Schemas>(
  kind: K,
  raw: unknown,
  fast?: (v: unknown) => unknown,
): { data?: z.output<Schemas[K]>; issues: FieldIssue[] } {
  // A well-formed object of a kind read often: what the strict schema would give, without its walk.
  const quick = fast?.(raw) ?? NO;
  if (quick !== NO) return { data: quick as z.output<Schemas[K]>, issues: [] };
  const { strict, loose } = zodSchemas();
  const checked = strict[kind].safeParse(raw, { reportInput: true });
  // Without unknown fields the strict schema's value is the stripping one's: no second pass.
  if (checked.success) return { data: checked.data as z.output<Schemas[K]>, issues: [] };
  const issues = checked.error.issues.flatMap((i) => fromZodIssue(i, strict[kind]));
  if (issues.some((i) => i.severity === 'error')) return { issues };
  const data = loose[kind].safeParse(raw);
  return data.success
    ? { data: data.data as z.output<Schemas[K]>, issues }
    : { issues: [...issues, ...data.error.issues.flatMap((i) => fromZodIssue(i))] };
}

function metadataIssues(
  info: KindInfo,
  meta: {
    name?: string | undefined;
    namespace?: string | undefined;
    labels?: Record<string, string> | undefined;
  },
): FieldIssue[] {
  const out: FieldIssue[] = [];
  const at = (field: string, message: string): FieldIssue => ({
    severity: 'error',
    path: ['metadata', field],
    message,
  });
  if (meta.name === undefined || meta.name === '') out.push(at('name', 'metadata.name is required'));
  else out.push(...info.checkName(meta.name).map((m) => at('name', m)));
  const namespaced = info.role !== 'namespace' && info.role !== 'cluster-policy';
  if (namespaced && meta.namespace !== undefined && meta.namespace !== '') {
    out.push(...dns1123Label(meta.namespace).map((m) => at('namespace', `namespace ${m}`)));
  }
  out.push(...validateLabels(meta.labels, ['metadata', 'labels']));
  return out;
}

function result(built: Built, issues: FieldIssue[]): CheckResult {
  return issues.some((i) => i.severity === 'error') ? { issues } : { built, issues };
}

/** Checks `raw` (nulls already dropped) as a `info.kind`; `ref` says where it lives (namespace defaulted). */
export function checkObject(raw: unknown, info: KindInfo, ref: ObjectRef): CheckResult {
  const ns = ref.namespace ?? '';
  switch (info.role) {
    case 'namespace': {
      const s = shape('namespace', raw, fastNamespace);
      if (s.data === undefined) return { issues: s.issues };
      const d = s.data;
      const issues = [...s.issues, ...metadataIssues(info, d.metadata)];
      const { labels, wrongValue } = namespaceLabels(ref.name, d.metadata.labels);
      if (wrongValue !== undefined) {
        issues.push({
          severity: 'warning',
          path: ['metadata', 'labels', NAMESPACE_NAME_LABEL],
          message: `label ${NAMESPACE_NAME_LABEL} is "${wrongValue}" but the API server always sets it to the namespace's name; using "${ref.name}"`,
        });
      }
      const { namespace: _clusterScoped, ...metadata } = d.metadata;
      return result(
        {
          role: 'namespace',
          object: { apiVersion: d.apiVersion, kind: d.kind, metadata: { ...metadata, labels } },
        },
        issues,
      );
    }
    case 'policy': {
      const s = shape('networkPolicy', raw, fastNetworkPolicy);
      if (s.data === undefined) return { issues: s.issues };
      const issues = [
        ...s.issues,
        ...metadataIssues(info, s.data.metadata),
        ...validateNetworkPolicySpec(s.data.spec ?? {}, ['spec']),
      ];
      return result({ role: 'policy', object: defaultNetworkPolicy(s.data, ns) }, issues);
    }
    case 'cluster-policy': {
      const s = shape('clusterNetworkPolicy', raw);
      if (s.data === undefined) return { issues: s.issues };
      // Cluster-scoped: a namespace written in the manifest is ignored, as the API server does.
      const { namespace: _clusterScoped, ...metadata } = s.data.metadata;
      const object: ClusterNetworkPolicy = {
        apiVersion: s.data.apiVersion,
        kind: s.data.kind,
        metadata,
        spec: s.data.spec,
      };
      const issues = [
        ...s.issues,
        ...metadataIssues(info, s.data.metadata),
        ...validateClusterNetworkPolicySpec(object, s.data.spec, ['spec']),
      ];
      return result({ role: 'cluster-policy', object }, issues);
    }
    case 'pod': {
      const s = shape('pod', raw, fastPod);
      if (s.data === undefined) return { issues: s.issues };
      const d = s.data;
      const issues = [
        ...s.issues,
        ...metadataIssues(info, d.metadata),
        ...validatePodSpec(d.spec, ['spec']),
        ...validatePodStatus(d.status, ['status']),
      ];
      const object: Pod = {
        apiVersion: d.apiVersion,
        kind: d.kind,
        metadata: { ...d.metadata, namespace: ns },
        spec: defaultPodSpec(d.spec),
        ...(d.status && { status: d.status }),
      };
      return result({ role: 'pod', object }, issues);
    }
    case 'workload': {
      const s = info.kind === 'CronJob' ? shape('cronJob', raw) : shape('workload', raw);
      if (s.data === undefined) return { issues: s.issues };
      const template =
        'jobTemplate' in s.data.spec ? s.data.spec.jobTemplate.spec.template : s.data.spec.template;
      const tp = info.templatePath;
      const labels = template.metadata?.labels ?? {};
      const issues = [
        ...s.issues,
        ...metadataIssues(info, s.data.metadata),
        ...validateLabels(labels, [...tp, 'metadata', 'labels']),
        ...validatePodSpec(template.spec, [...tp, 'spec']),
      ];
      const object: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        // A contract (outputs and --from/--to name them so): a workload template's pod is named
        // `<lower-case kind>-<name>`.
        metadata: { name: `${info.kind.toLowerCase()}-${ref.name}`, namespace: ns, labels },
        spec: defaultPodSpec(template.spec),
      };
      return result({ role: 'workload', object }, issues);
    }
  }
}
