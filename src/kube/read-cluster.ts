// One consistent read of what an audit needs: namespaces, pods, policies, nodes and services.
import * as k8s from '@kubernetes/client-node';
import type { ClusterNetworkPolicy, LabelSelector, Namespace, NetworkPolicy, Pod } from '../core/k8s.ts';
import { readClusterPolicies } from './cluster-policies.ts';
import { toNamespace, toNetworkPolicy, toPod } from './convert.ts';
import { call } from './errors.ts';

export interface NodeInfo {
  readonly name: string;
  readonly ready: boolean;
  /** Ready, not cordoned, and no NoSchedule / NoExecute taint. */
  readonly schedulable: boolean;
  readonly cordoned: boolean;
  /** NoSchedule and NoExecute taints, as `key=value:Effect` (or `key:Effect`). */
  readonly taints: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly internalIP: string | undefined;
}

export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly publishNotReadyAddresses: boolean;
}

export interface DisruptionBudgetInfo {
  readonly namespace: string;
  readonly name: string;
  readonly selector: LabelSelector | undefined;
}

export interface ClusterRead {
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly policies: NetworkPolicy[];
  readonly clusterPolicies: ClusterNetworkPolicy[];
  /** Set when ClusterNetworkPolicies could not be read (no CRD, no permission): they count as none. */
  readonly clusterPoliciesUnavailable?: string;
  readonly nodes: NodeInfo[];
  readonly services: ServiceInfo[];
  readonly disruptionBudgets: DisruptionBudgetInfo[];
}

export function nodeInfo(n: k8s.V1Node): NodeInfo {
  const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const taints = (n.spec?.taints ?? [])
    .filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
    .map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`);
  const cordoned = n.spec?.unschedulable === true;
  return {
    name: n.metadata?.name ?? '',
    ready,
    schedulable: !cordoned && taints.length === 0,
    cordoned,
    taints,
    labels: n.metadata?.labels ?? {},
    internalIP: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
  };
}

export async function readCluster(kc: k8s.KubeConfig): Promise<ClusterRead> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const [namespaces, pods, policies, nodes, services, pdbs, cnps] = await Promise.all([
    call({ verb: 'list', resource: 'namespaces' }, () => core.listNamespace()),
    call({ verb: 'list', resource: 'pods' }, () => core.listPodForAllNamespaces()),
    call({ verb: 'list', resource: 'networkpolicies' }, () => net.listNetworkPolicyForAllNamespaces()),
    call({ verb: 'list', resource: 'nodes' }, () => core.listNode()),
    call({ verb: 'list', resource: 'services' }, () => core.listServiceForAllNamespaces()),
    call({ verb: 'list', resource: 'poddisruptionbudgets' }, () =>
      policy.listPodDisruptionBudgetForAllNamespaces(),
    ),
    readClusterPolicies(kc),
  ]);
  return {
    namespaces: namespaces.items.map(toNamespace),
    pods: pods.items.map(toPod),
    policies: policies.items.map(toNetworkPolicy),
    clusterPolicies: cnps.kind === 'read' ? cnps.policies : [],
    ...(cnps.kind === 'unavailable' ? { clusterPoliciesUnavailable: cnps.reason } : {}),
    nodes: nodes.items.map(nodeInfo),
    services: services.items.map((s) => ({
      namespace: s.metadata?.namespace ?? '',
      name: s.metadata?.name ?? '',
      selector: s.spec?.selector,
      publishNotReadyAddresses: s.spec?.publishNotReadyAddresses === true,
    })),
    disruptionBudgets: pdbs.items.map((b) => ({
      namespace: b.metadata?.namespace ?? '',
      name: b.metadata?.name ?? '',
      selector: b.spec?.selector
        ? {
            ...(b.spec.selector.matchLabels ? { matchLabels: b.spec.selector.matchLabels } : {}),
            ...(b.spec.selector.matchExpressions
              ? { matchExpressions: b.spec.selector.matchExpressions }
              : {}),
          }
        : undefined,
    })),
  };
}
