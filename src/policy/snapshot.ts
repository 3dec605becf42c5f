// A cluster snapshot: namespaces, pods and compiled policies, as the engine evaluates them.
// Built from API objects (manifests or the API server); bad objects are reported and left out.

import {
  type ClusterNetworkPolicy,
  type Labels,
  NAMESPACE_NAME_LABEL,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '../core/k8s.ts';
import { PROTOCOLS, type Protocol } from '../core/traffic.ts';
import { parseIpLiteral } from './cidr.ts';
import { compilePolicy, type PolicyIssue } from './compile.ts';
import { compileClusterPolicy } from './compile-cluster.ts';
import type { EvalContext } from './evaluate.ts';
import type { CniProfile } from './profiles.ts';
import {
  type CompiledClusterPolicy,
  type CompiledPolicy,
  compareClusterPolicies,
  type NamedContainerPort,
  type NamespaceInfo,
  type ParsedIP,
  type PodInfo,
  podKey,
} from './types.ts';

export interface ObjectIssue extends PolicyIssue {
  readonly kind: 'Namespace' | 'Pod' | 'NetworkPolicy' | 'ClusterNetworkPolicy';
  readonly namespace: string | undefined;
  readonly name: string;
  readonly severity: 'error' | 'warning';
}

export interface ExcludedPod {
  readonly key: string;
  readonly reason: string;
}

export interface ClusterSnapshot {
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  /** Pods that are traffic endpoints, sorted by key. */
  readonly pods: readonly PodInfo[];
  readonly policies: ReadonlyMap<string, readonly CompiledPolicy[]>;
  /** By tier, then priority, then name. */
  readonly clusterPolicies?: readonly CompiledClusterPolicy[];
  readonly profile: CniProfile;
}

const FINISHED = new Set(['Succeeded', 'Failed']);

export function namespaceInfo(ns: Namespace, implied = false): NamespaceInfo {
  const name = ns.metadata.name ?? '';
  // The API server always sets this label to the namespace's name.
  return { name, labels: { ...(ns.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: name }, implied };
}

export type PodConversion =
  | { readonly kind: 'pod'; readonly pod: PodInfo }
  | { readonly kind: 'excluded'; readonly key: string; readonly reason: string }
  | { readonly kind: 'invalid'; readonly issues: readonly PolicyIssue[] };

/** `finished: true` keeps a finished pod (a probe client that ran to completion keeps its IP in status). */
export function podInfo(pod: Pod, profile: CniProfile, options: { finished?: boolean } = {}): PodConversion {
  const namespace = pod.metadata.namespace ?? 'default';
  const name = pod.metadata.name ?? '';
  const key = podKey(namespace, name);
  if (pod.spec?.hostNetwork && !profile.hostNetworkPodsPoliced.value) {
    return {
      kind: 'excluded',
      key,
      reason: `host-network pod: NetworkPolicy does not apply to it (${profile.name}: ${profile.hostNetworkPodsPoliced.source})`,
    };
  }
  const phase = pod.status?.phase;
  if (phase && FINISHED.has(phase) && !options.finished)
    return { kind: 'excluded', key, reason: `finished pod (phase ${phase})` };
  const issues: PolicyIssue[] = [];
  const ports: NamedContainerPort[] = [];
  (pod.spec?.containers ?? []).forEach((c, ci) => {
    (c.ports ?? []).forEach((p, pi) => {
      const protocol = (p.protocol ?? 'TCP') as Protocol;
      if (!PROTOCOLS.includes(protocol)) {
        issues.push({
          field: `spec.containers[${ci}].ports[${pi}].protocol`,
          message: `"${p.protocol}" is not a protocol; use TCP, UDP or SCTP`,
        });
        return;
      }
      ports.push({ name: p.name, port: p.containerPort, protocol });
    });
  });
  const ipTexts = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  const ips: ParsedIP[] = [];
  ipTexts.forEach((text, i) => {
    const ip = parseIpLiteral(text);
    if (ip.ok) ips.push(ip.value);
    else issues.push({ field: `status.podIPs[${i}].ip`, message: ip.error });
  });
  if (issues.length > 0) return { kind: 'invalid', issues };
  return {
    kind: 'pod',
    pod: {
      key,
      namespace,
      name,
      labels: pod.metadata.labels ?? {},
      ips,
      ports,
      hostNetwork: pod.spec?.hostNetwork === true,
      node: pod.spec?.nodeName,
      phase,
    },
  };
}

export interface SnapshotInput {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly policies: readonly NetworkPolicy[];
  readonly clusterPolicies?: readonly ClusterNetworkPolicy[];
}

export interface SnapshotResult {
  readonly snapshot: ClusterSnapshot;
  readonly issues: readonly ObjectIssue[];
  readonly excluded: readonly ExcludedPod[];
}

export function buildSnapshot(input: SnapshotInput, profile: CniProfile): SnapshotResult {
  const issues: ObjectIssue[] = [];
  const excluded: ExcludedPod[] = [];
  const namespaces = new Map<string, NamespaceInfo>();
  for (const ns of input.namespaces) namespaces.set(ns.metadata.name ?? '', namespaceInfo(ns));
  const pods: PodInfo[] = [];
  for (const pod of input.pods) {
    const c = podInfo(pod, profile);
    if (c.kind === 'pod') pods.push(c.pod);
    else if (c.kind === 'excluded') excluded.push({ key: c.key, reason: c.reason });
    else {
      for (const issue of c.issues) {
        issues.push({
          ...issue,
          kind: 'Pod',
          namespace: pod.metadata.namespace,
          name: pod.metadata.name ?? '',
          severity: 'error',
        });
      }
    }
  }
  pods.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const policies = new Map<string, CompiledPolicy[]>();
  for (const np of input.policies) {
    const compiled = compilePolicy(np);
    const where = {
      kind: 'NetworkPolicy' as const,
      namespace: np.metadata.namespace,
      name: np.metadata.name ?? '',
    };
    if (!compiled.ok) {
      for (const issue of compiled.issues) issues.push({ ...issue, ...where, severity: 'error' });
      continue;
    }
    for (const w of compiled.warnings) issues.push({ ...w, ...where, severity: 'warning' });
    const list = policies.get(compiled.policy.ref.namespace) ?? [];
    list.push(compiled.policy);
    policies.set(compiled.policy.ref.namespace, list);
  }
  // Reasons list policies by name, whatever order the input (or the API server's watch) gave them in.
  for (const list of policies.values())
    list.sort((a, b) => (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0));
  const clusterPolicies: CompiledClusterPolicy[] = [];
  for (const cnp of input.clusterPolicies ?? []) {
    const compiled = compileClusterPolicy(cnp);
    const where = {
      kind: 'ClusterNetworkPolicy' as const,
      namespace: undefined,
      name: cnp.metadata.name ?? '',
    };
    if (!compiled.ok) {
      for (const issue of compiled.issues) issues.push({ ...issue, ...where, severity: 'error' });
      continue;
    }
    for (const w of compiled.warnings) issues.push({ ...w, ...where, severity: 'warning' });
    clusterPolicies.push(compiled.policy);
  }
  clusterPolicies.sort(compareClusterPolicies);
  // Namespaces referenced but not defined get the label the API server would give them.
  for (const ns of [...pods.map((p) => p.namespace), ...policies.keys()]) {
    if (!namespaces.has(ns))
      namespaces.set(ns, { ...namespaceInfo({ metadata: { name: ns } }), implied: true });
  }
  return { snapshot: { namespaces, pods, policies, clusterPolicies, profile }, issues, excluded };
}

const NO_LABELS: Labels = {};
const NO_POLICIES: readonly CompiledPolicy[] = [];

export function evalContext(snapshot: ClusterSnapshot): EvalContext {
  const admin = (snapshot.clusterPolicies ?? []).filter((p) => p.tier === 'Admin');
  const baseline = (snapshot.clusterPolicies ?? []).filter((p) => p.tier === 'Baseline');
  return {
    profile: snapshot.profile,
    policiesIn: (ns) => snapshot.policies.get(ns) ?? NO_POLICIES,
    namespaceLabels: (ns) =>
      snapshot.namespaces.get(ns)?.labels ?? { [NAMESPACE_NAME_LABEL]: ns, ...NO_LABELS },
    clusterPolicies: (tier) => (tier === 'Admin' ? admin : baseline),
  };
}
