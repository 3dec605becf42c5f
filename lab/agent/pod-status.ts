/** Pod status as a kubelet writes it: phase, conditions (with readiness gates), container states. */
import type * as k8s from '@kubernetes/client-node';
import { sleep } from '../sh.ts';
import { agentState, apiCode, core, L, node, nowIso, SMP } from './context.ts';
import { type ContainerRec, containerId, type PodRec, type PodRuntime } from './records.ts';

function setCond(rec: PodRec, type: string, status: string): string {
  const prev = rec.conditionTimes[type];
  if (prev && prev.status === status) return prev.time;
  const time = nowIso();
  rec.conditionTimes[type] = { status, time };
  return time;
}

function containerStatus(rec: PodRec, c: ContainerRec): k8s.V1ContainerStatus {
  const running = c.pid !== undefined && !c.terminated && !c.waiting;
  let state: k8s.V1ContainerState;
  if (c.terminated) state = { terminated: c.terminated as unknown as k8s.V1ContainerStateTerminated };
  else if (running) state = { running: { startedAt: (c.startedAt ?? nowIso()) as unknown as Date } };
  else state = { waiting: c.waiting ?? { reason: 'ContainerCreating' } };
  return {
    name: c.name,
    image: c.image,
    imageID: `nalab://local/${c.image}`,
    ready: running && rec.phase === 'running',
    started: running,
    restartCount: c.restartCount,
    state,
    ...(c.lastTerminated
      ? { lastState: { terminated: c.lastTerminated as unknown as k8s.V1ContainerStateTerminated } }
      : {}),
    ...(c.pid !== undefined || c.terminated ? { containerID: containerId(rec, c) } : {}),
  };
}

export async function writeStatus(rt: PodRuntime): Promise<void> {
  if (rt.gone) return;
  const { rec, pod } = rt;
  const terminal = rec.phase === 'terminal';
  const allRunning =
    rec.phase === 'running' &&
    rec.containers.every((c) => c.pid !== undefined && !c.terminated && !c.waiting);
  const gates = pod.spec?.readinessGates ?? [];
  const conds = pod.status?.conditions ?? [];
  const missingGates = gates
    .map((g) => g.conditionType)
    .filter((t) => conds.find((c) => c.type === t)?.status !== 'True');
  const ready = allRunning && missingGates.length === 0;
  const phase =
    rec.podPhase ??
    (rec.phase === 'running' ? 'Running' : rec.phase === 'terminal' ? 'Failed' : ('Pending' as const));
  const notReadyReason = terminal
    ? 'PodCompleted'
    : allRunning
      ? 'ReadinessGatesNotReady'
      : 'ContainersNotReady';
  const notRunning = rec.containers.filter((c) => !(c.pid !== undefined && !c.terminated && !c.waiting));
  const crMessage = terminal
    ? ''
    : `containers with unready status: [${notRunning.map((c) => c.name).join(' ')}]`;
  const cond = (type: string, ok: boolean, reason?: string, message?: string): k8s.V1PodCondition => ({
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: setCond(rec, type, ok ? 'True' : 'False') as unknown as Date,
    ...(!ok && reason ? { reason } : {}),
    ...(!ok && message ? { message } : {}),
  });
  const status: k8s.V1PodStatus = {
    phase,
    hostIP: node.ip,
    hostIPs: [{ ip: node.ip }],
    startTime: rec.startTime as unknown as Date,
    conditions: [
      cond('PodReadyToStartContainers', !terminal && rec.ip !== ''),
      cond('Initialized', true),
      cond(
        'ContainersReady',
        allRunning,
        notReadyReason === 'ReadinessGatesNotReady' ? undefined : notReadyReason,
        crMessage,
      ),
      cond(
        'Ready',
        ready,
        notReadyReason,
        notReadyReason === 'ReadinessGatesNotReady'
          ? `corresponding condition of pod readiness gate "${missingGates[0]}" does not exist or is not True.`
          : crMessage,
      ),
    ],
    containerStatuses: rec.containers.map((c) => containerStatus(rec, c)),
    ...(rec.reason ? { reason: rec.reason } : {}),
    ...(rec.message ? { message: rec.message } : {}),
  };
  if (rec.ip) {
    status.podIP = rec.ip;
    status.podIPs = [{ ip: rec.ip }];
  }
  // A kubelet keeps a status until the API server takes it: an overloaded or restarting API server
  // (no answer, 429, 5xx) is asked again, or the pod would stay Pending with nothing left to retry.
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const updated = await core.patchNamespacedPodStatus(
        { name: rec.name, namespace: rec.namespace, body: { status } },
        SMP,
      );
      if (updated.metadata?.uid === rec.uid) rt.pod = updated;
      return;
    } catch (e) {
      const code = apiCode(e);
      if (code === 404) {
        rt.gone = true;
        return;
      }
      const retryable = code === undefined || code === 429 || code >= 500;
      if (!retryable || rt.gone || agentState.stopping) throw e;
      L.warn(
        {
          pod: `${rec.namespace}/${rec.name}`,
          code,
          err: e instanceof Error ? e.message : String(e),
          retryMs: delay,
        },
        'pod status not written; retrying',
      );
      await sleep(delay);
    }
  }
}
