// What `--profile auto` looks at: CNI agent pods (by their usual label, cluster-wide, and every pod of
// kube-system for its images) and the nodes' annotation keys. Three LISTs, once per audit or
// controller start.
import * as k8s from '@kubernetes/client-node';
import type { CniEvidence } from '../policy/cni-detect.ts';
import { call } from './errors.ts';

export async function readCniEvidence(kc: k8s.KubeConfig): Promise<CniEvidence> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [agents, system, nodes] = await Promise.all([
    call({ verb: 'list', resource: 'pods' }, () =>
      core.listPodForAllNamespaces({ labelSelector: 'k8s-app in (cilium,calico-node,kube-router)' }),
    ),
    call({ verb: 'list', resource: 'pods', namespace: 'kube-system' }, () =>
      core.listNamespacedPod({ namespace: 'kube-system' }),
    ),
    call({ verb: 'list', resource: 'nodes' }, () => core.listNode()),
  ]);
  const seen = new Set<string>();
  const pods: CniEvidence['pods'][number][] = [];
  for (const p of [...agents.items, ...system.items]) {
    const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    pods.push({
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      labels: p.metadata?.labels ?? {},
      images: [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].flatMap((c) =>
        c.image ? [c.image] : [],
      ),
    });
  }
  return {
    pods,
    nodes: nodes.items.map((n) => ({
      name: n.metadata?.name ?? '',
      annotations: Object.keys(n.metadata?.annotations ?? {}),
    })),
  };
}
