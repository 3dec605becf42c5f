// The API server's defaulting that changes what a policy means, applied on copies of objects read
// from files (live objects already carry it): policyTypes, protocols, the namespace name label.

import {
  type Container,
  type ContainerPort,
  type Labels,
  NAMESPACE_NAME_LABEL,
  type NetworkPolicy,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  type PodSpec,
} from '../core/k8s.ts';
import type { NetworkPolicyShape, PodShape } from './manifest-schema.ts';

type PortShape = NonNullable<
  NonNullable<NonNullable<NetworkPolicyShape['spec']>['ingress']>[number]['ports']
>[number];

function defaultPort(p: PortShape): NetworkPolicyPort {
  return { ...p, protocol: p.protocol ?? 'TCP' };
}

/** `policyTypes` when absent: Ingress, plus Egress iff there is at least one egress rule. */
export function defaultPolicyTypes(spec: NonNullable<NetworkPolicyShape['spec']>): readonly string[] {
  // The API server defaults an empty list too.
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) return spec.policyTypes;
  return (spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

export function defaultNetworkPolicy(np: NetworkPolicyShape, namespace: string): NetworkPolicy {
  const s = np.spec ?? {};
  const spec: NetworkPolicySpec = {
    podSelector: s.podSelector ?? {},
    policyTypes: defaultPolicyTypes(s),
    ...(s.ingress && {
      ingress: s.ingress.map((r) => ({ ...r, ...(r.ports && { ports: r.ports.map(defaultPort) }) })),
    }),
    ...(s.egress && {
      egress: s.egress.map((r) => ({ ...r, ...(r.ports && { ports: r.ports.map(defaultPort) }) })),
    }),
  };
  return { apiVersion: np.apiVersion, kind: np.kind, metadata: { ...np.metadata, namespace }, spec };
}

function defaultContainer(c: PodShape['spec']['containers'][number]): Container {
  const ports = c.ports?.map(
    (p): ContainerPort => ({
      containerPort: p.containerPort,
      protocol: p.protocol ?? 'TCP',
      ...(p.name !== undefined && { name: p.name }),
    }),
  );
  return { name: c.name, ...(c.image !== undefined && { image: c.image }), ...(ports && { ports }) };
}

export function defaultPodSpec(spec: PodShape['spec']): PodSpec {
  return {
    ...spec,
    containers: spec.containers.map(defaultContainer),
    ...(spec.initContainers && { initContainers: spec.initContainers.map(defaultContainer) }),
  };
}

/**
 * Namespace labels with the name label the API server always sets (overriding any other value).
 * `wrongValue` is the value the manifest had, when it differed, so the caller can warn.
 */
export function namespaceLabels(
  name: string,
  labels: Labels | undefined,
): { labels: Labels; wrongValue?: string } {
  const given = labels?.[NAMESPACE_NAME_LABEL];
  const out = { ...labels, [NAMESPACE_NAME_LABEL]: name };
  return given !== undefined && given !== name ? { labels: out, wrongValue: given } : { labels: out };
}
