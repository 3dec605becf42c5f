// client-node objects -> the engine's plain API shapes. client-node's typed models rename `from`
// (a reserved word) to `_from` when they deserialize, while watch events carry the raw JSON: accept
// both, so a NetworkPolicy means the same whichever way it arrived.
import type * as k8s from '@kubernetes/client-node';
import type {
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from '../core/k8s.ts';

type Loose = Record<string, unknown>;

function selector(s: k8s.V1LabelSelector | undefined): LabelSelector | undefined {
  if (!s) return undefined;
  return {
    ...(s.matchLabels ? { matchLabels: { ...s.matchLabels } } : {}),
    ...(s.matchExpressions
      ? {
          matchExpressions: s.matchExpressions.map((e) => ({
            key: e.key,
            operator: e.operator,
            ...(e.values ? { values: [...e.values] } : {}),
          })),
        }
      : {}),
  };
}

function peers(list: readonly k8s.V1NetworkPolicyPeer[] | undefined): NetworkPolicyPeer[] | undefined {
  return list?.map((p) => ({
    ...(p.podSelector ? { podSelector: selector(p.podSelector) as LabelSelector } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: selector(p.namespaceSelector) as LabelSelector } : {}),
    ...(p.ipBlock
      ? { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except ? { except: [...p.ipBlock.except] } : {}) } }
      : {}),
  }));
}

function ports(list: readonly k8s.V1NetworkPolicyPort[] | undefined): NetworkPolicyPort[] | undefined {
  return list?.map((p) => ({
    ...(p.protocol ? { protocol: p.protocol } : {}),
    ...(p.port !== undefined && p.port !== null ? { port: p.port as number | string } : {}),
    ...(p.endPort !== undefined && p.endPort !== null ? { endPort: p.endPort } : {}),
  }));
}

export function toNetworkPolicy(np: k8s.V1NetworkPolicy): NetworkPolicy {
  const spec = np.spec ?? ({} as k8s.V1NetworkPolicySpec);
  return {
    metadata: {
      name: np.metadata?.name,
      namespace: np.metadata?.namespace,
      uid: np.metadata?.uid,
      resourceVersion: np.metadata?.resourceVersion,
    },
    spec: {
      podSelector: selector(spec.podSelector) ?? {},
      ...(spec.policyTypes ? { policyTypes: [...spec.policyTypes] } : {}),
      ...(spec.ingress
        ? {
            ingress: spec.ingress.map((r) => {
              const from = (r as Loose).from ?? r._from;
              return {
                ...(from ? { from: peers(from as k8s.V1NetworkPolicyPeer[]) } : {}),
                ...(r.ports ? { ports: ports(r.ports) } : {}),
              };
            }),
          }
        : {}),
      ...(spec.egress
        ? {
            egress: spec.egress.map((r) => ({
              ...(r.to ? { to: peers(r.to) } : {}),
              ...(r.ports ? { ports: ports(r.ports) } : {}),
            })),
          }
        : {}),
    },
  };
}

export function toNamespace(ns: k8s.V1Namespace): Namespace {
  return {
    metadata: { name: ns.metadata?.name, labels: { ...(ns.metadata?.labels ?? {}) }, uid: ns.metadata?.uid },
  };
}

export function toPod(pod: k8s.V1Pod): Pod {
  const spec = pod.spec ?? ({ containers: [] } as unknown as k8s.V1PodSpec);
  const status = pod.status;
  return {
    metadata: {
      name: pod.metadata?.name,
      namespace: pod.metadata?.namespace,
      labels: { ...(pod.metadata?.labels ?? {}) },
      uid: pod.metadata?.uid,
    },
    spec: {
      containers: spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        ports: (c.ports ?? []).map((p) => ({
          name: p.name,
          containerPort: p.containerPort,
          protocol: p.protocol,
        })),
      })),
      hostNetwork: spec.hostNetwork,
      nodeName: spec.nodeName,
    },
    ...(status
      ? {
          status: {
            phase: status.phase,
            podIP: status.podIP,
            ...(status.podIPs ? { podIPs: status.podIPs.map((p) => ({ ip: p.ip })) } : {}),
            hostIP: status.hostIP,
          },
        }
      : {}),
  };
}

/** The engine's NetworkPolicy as client-node's typed model (which spells `from` as `_from`). */
export function toClientNetworkPolicy(np: NetworkPolicy): k8s.V1NetworkPolicy {
  const peer = (p: NetworkPolicyPeer): k8s.V1NetworkPolicyPeer => ({
    ...(p.podSelector ? { podSelector: p.podSelector as k8s.V1LabelSelector } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: p.namespaceSelector as k8s.V1LabelSelector } : {}),
    ...(p.ipBlock
      ? { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except ? { except: [...p.ipBlock.except] } : {}) } }
      : {}),
  });
  const port = (p: NetworkPolicyPort): k8s.V1NetworkPolicyPort => ({
    ...(p.protocol ? { protocol: p.protocol } : {}),
    ...(p.port !== undefined ? { port: p.port as unknown as k8s.IntOrString } : {}),
    ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
  });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      ...(np.metadata.name ? { name: np.metadata.name } : {}),
      ...(np.metadata.namespace ? { namespace: np.metadata.namespace } : {}),
      ...(np.metadata.labels ? { labels: { ...np.metadata.labels } } : {}),
    },
    spec: {
      podSelector: np.spec.podSelector as k8s.V1LabelSelector,
      ...(np.spec.policyTypes ? { policyTypes: [...np.spec.policyTypes] } : {}),
      ...(np.spec.ingress
        ? {
            ingress: np.spec.ingress.map((r) => ({
              ...(r.from ? { _from: r.from.map(peer) } : {}),
              ...(r.ports ? { ports: r.ports.map(port) } : {}),
            })),
          }
        : {}),
      ...(np.spec.egress
        ? {
            egress: np.spec.egress.map((r) => ({
              ...(r.to ? { to: r.to.map(peer) } : {}),
              ...(r.ports ? { ports: r.ports.map(port) } : {}),
            })),
          }
        : {}),
    },
  };
}
