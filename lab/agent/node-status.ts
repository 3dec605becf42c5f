/**
 * The Node this agent plays: registration (and lifting the not-ready taint no controller lifts here),
 * node status with Ready, and the node Lease, renewed on a timer.
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { K8S_VERSION } from '../config.ts';
import { agentState, apiCode, coord, core, L, LEASE_SECONDS, node, nowIso, SMP } from './context.ts';

export async function registerNode(): Promise<void> {
  const body: k8s.V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'lab.netaudit.dev/node-index': String(node.index),
      },
      annotations: { 'lab.netaudit.dev/netns': node.netns },
    },
    spec: { podCIDR: node.podCidr, podCIDRs: [node.podCidr] },
  };
  try {
    await core.createNode({ body });
    L.info('node created');
  } catch (e) {
    if (apiCode(e) !== 409) throw e;
  }
  await patchNodeStatus();
  // The TaintNodesByCondition admission plugin marks a new Node not-ready; in a real cluster the
  // node-lifecycle controller lifts that when the kubelet reports Ready. The lab runs no
  // node-lifecycle controller (its agents are the only source of node health), so the agent does.
  const n = await core.readNode({ name: node.name });
  const taints = n.spec?.taints ?? [];
  const kept = taints.filter(
    (t) => !t.key.startsWith('node.kubernetes.io/not-ready') && t.key !== 'node.kubernetes.io/unreachable',
  );
  if (kept.length !== taints.length) {
    await core.patchNode(
      { name: node.name, body: { spec: { taints: kept.length ? kept : null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }
}

export async function patchNodeStatus(): Promise<void> {
  const now = nowIso();
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: nodeStarted,
  });
  const resources = { cpu: '8', memory: '16Gi', pods: '110', 'ephemeral-storage': '20Gi' };
  const status = {
    capacity: resources,
    allocatable: resources,
    addresses: [
      { type: 'InternalIP', address: node.ip },
      { type: 'Hostname', address: node.name },
    ],
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'lab node agent'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'lab node agent'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'lab node agent'),
      cond('Ready', 'True', 'KubeletReady', 'netaudit lab node agent is posting ready status'),
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: `nalab-${node.index}`,
      systemUUID: `nalab-${node.index}`,
      bootID: bootId,
      kernelVersion: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
      osImage: 'netaudit lab node (network namespace)',
      containerRuntimeVersion: 'nalab://1',
      kubeletVersion: `v${K8S_VERSION}`,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
  await core.patchNodeStatus({ name: node.name, body: { status } }, SMP);
}

const nodeStarted = nowIso();
const bootId = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
})();

export async function renewLease(): Promise<void> {
  const renewTime = new k8s.V1MicroTime();
  try {
    const lease = await coord.readNamespacedLease({ name: node.name, namespace: 'kube-node-lease' });
    lease.spec = {
      ...(lease.spec ?? {}),
      renewTime,
      holderIdentity: node.name,
      leaseDurationSeconds: LEASE_SECONDS,
    };
    await coord.replaceNamespacedLease({ name: node.name, namespace: 'kube-node-lease', body: lease });
  } catch (e) {
    if (apiCode(e) !== 404) throw e;
    const n = await core.readNode({ name: node.name });
    await coord.createNamespacedLease({
      namespace: 'kube-node-lease',
      body: {
        metadata: {
          name: node.name,
          namespace: 'kube-node-lease',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: n.metadata?.uid ?? '' }],
        },
        spec: { holderIdentity: node.name, leaseDurationSeconds: LEASE_SECONDS, renewTime },
      },
    });
  }
}

export function every(ms: number, what: string, fn: () => Promise<void>): void {
  const tick = async () => {
    if (agentState.stopping) return;
    try {
      await fn();
    } catch (e) {
      L.warn({ err: String(e) }, `${what} failed`);
    }
    if (!agentState.stopping) setTimeout(tick, ms).unref();
  };
  setTimeout(tick, ms).unref();
}
