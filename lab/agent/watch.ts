/**
 * The pods bound to this node, from a watch (restarted with backoff on error; never after shutdown):
 * each change is reconciled on the pod's queue; records of pods deleted while the agent was away and
 * pod namespaces nobody owns are cleaned up at start.
 */
import * as k8s from '@kubernetes/client-node';
import { netnsList, run, sleep } from '../sh.ts';
import { agentState, apiCode, core, kc, L, node } from './context.ts';
import { cancelWait } from './enforcement.ts';
import { killNetnsProcesses } from './pod-network.ts';
import { writeStatus } from './pod-status.ts';
import { adopt, createPod, deletePod, newRuntime } from './pods.ts';
import { enqueue, loadRecs, type PodRec, runtimes } from './records.ts';

async function reconcile(pod: k8s.V1Pod): Promise<void> {
  const uid = pod.metadata?.uid ?? '';
  let rt = runtimes.get(uid);
  if (pod.metadata?.deletionTimestamp) {
    if (!rt) {
      const rec = savedRecs.get(uid);
      savedRecs.delete(uid);
      if (rec) rt = newRuntime(rec, pod);
    }
    if (rt) {
      rt.pod = pod;
      await deletePod(rt, pod);
    } else {
      try {
        await core.deleteNamespacedPod({
          name: pod.metadata.name ?? '',
          namespace: pod.metadata.namespace ?? '',
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid } },
        });
      } catch (e) {
        if (apiCode(e) !== 404 && apiCode(e) !== 409) throw e;
      }
    }
    return;
  }
  if (!rt) {
    const rec = savedRecs.get(uid);
    if (rec) {
      savedRecs.delete(uid);
      await adopt(rec, pod);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    await createPod(pod);
    return;
  }
  // A known pod changed (labels, readiness gate conditions ...): keep Ready in step with the gates.
  rt.pod = pod;
  if (rt.rec.phase === 'running' && (pod.spec?.readinessGates ?? []).length > 0) {
    const readyNow = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const conds = pod.status?.conditions ?? [];
    const gatesOk = (pod.spec?.readinessGates ?? []).every(
      (g) => conds.find((c) => c.type === g.conditionType)?.status === 'True',
    );
    const allRunning = rt.rec.containers.every((c) => c.pid !== undefined && !c.terminated && !c.waiting);
    if (readyNow !== (gatesOk && allRunning)) await writeStatus(rt);
  }
}

async function forget(pod: k8s.V1Pod): Promise<void> {
  const uid = pod.metadata?.uid ?? '';
  const rt = runtimes.get(uid);
  if (!rt) return;
  rt.gone = true;
  await deletePod(rt, undefined);
}

// ---------------------------------------------------------------------------------------------------
// Watch loop (restarted with backoff on error; stop() never resurrects it)

let savedRecs = new Map<string, PodRec>();
let informer: k8s.ListWatch<k8s.V1Pod> | undefined;
let restartDelay = 1000;

export async function startInformer(): Promise<void> {
  if (agentState.stopping) return;
  const fieldSelector = `spec.nodeName=${node.name}`;
  let listed = false;
  const inf = new k8s.ListWatch<k8s.V1Pod>(
    '/api/v1/pods',
    new k8s.Watch(kc),
    async () => {
      const list = await core.listPodForAllNamespaces({ fieldSelector });
      listed = true;
      return list;
    },
    false,
    undefined,
    fieldSelector,
    { delayFn: (ms) => sleep(Math.min(ms, 1000)) },
  );
  informer = inf;
  // A pod still being set up may wait for kube-router, a re-adopted one for Cilium's CHECK (its queue
  // is busy): a deletion must not wait behind that, so it releases the wait at once and the queued
  // deletion runs next.
  const releaseSetup = (pod: k8s.V1Pod) => {
    const rt = runtimes.get(pod.metadata?.uid ?? '');
    if (rt && (rt.rec.phase === 'setup' || rt.checking)) {
      rt.deleting = true;
      cancelWait(rt.rec.ip);
    }
  };
  const onPod = (pod: k8s.V1Pod) => {
    const uid = pod.metadata?.uid ?? '';
    if (pod.metadata?.deletionTimestamp) releaseSetup(pod);
    void enqueue(uid, 'reconcile', () => reconcile(pod));
  };
  inf.on('add', onPod);
  inf.on('update', onPod);
  inf.on('delete', (pod) => {
    releaseSetup(pod);
    void enqueue(pod.metadata?.uid ?? '', 'forget', () => forget(pod));
  });
  inf.on('connect', () => {
    restartDelay = 1000;
  });
  inf.on('error', (err: unknown) => {
    if (agentState.stopping || informer !== inf) return;
    L.warn({ err: String(err), retryMs: restartDelay }, 'pod watch failed; restarting');
    informer = undefined;
    void inf.stop().catch(() => {});
    const delay = restartDelay;
    restartDelay = Math.min(restartDelay * 2, 30000);
    setTimeout(() => {
      void startInformer().catch((e: unknown) => L.error({ err: String(e) }, 'restart failed'));
    }, delay);
  });
  await inf.start();
  // A restarted watch starts from an empty cache: pods deleted during the gap get no delete event.
  // Only a list that succeeded says which pods are gone: while the API server is still away the
  // cache is empty, and taking that for "every pod was deleted" would kill every container on the
  // node while the API server still shows them running (the watch restarts again, and looks then).
  if (!listed) return;
  for (const rt of [...runtimes.values()]) {
    if (inf.get(rt.rec.name, rt.rec.namespace)?.metadata?.uid !== rt.rec.uid && !rt.deleting) {
      void enqueue(rt.rec.uid, 'forget', () => forget({ metadata: { uid: rt.rec.uid } }));
    }
  }
}

export async function sweepOrphans(): Promise<void> {
  // Records of pods the API server no longer has (deleted while the agent was down).
  const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node.name}` });
  const live = new Set(pods.items.map((p) => p.metadata?.uid ?? ''));
  for (const [uid, rec] of [...savedRecs]) {
    if (live.has(uid)) continue;
    savedRecs.delete(uid);
    const rt = newRuntime(rec, { metadata: { uid, name: rec.name, namespace: rec.namespace } });
    rt.gone = true;
    await enqueue(uid, 'orphan', () => deletePod(rt, undefined));
  }
  // Pod namespaces of this node's range that no record owns.
  const owned = new Set([...runtimes.values()].map((r) => r.rec.netns));
  for (const ns of await netnsList()) {
    if (ns.startsWith(`nalab-pod-198-19-${node.index}-`) && !owned.has(ns)) {
      await killNetnsProcesses(ns);
      await run('ip', ['netns', 'del', ns], { check: false });
      L.info({ netns: ns }, 'removed orphan pod netns');
    }
  }
}

/** Pod records found on disk at start: re-adopted as their pods show up, or cleaned up. */
export function loadSavedRecs(): void {
  savedRecs = loadRecs();
}

/** Stops the watch for good (shutdown). */
export async function stopInformer(): Promise<void> {
  const inf = informer;
  informer = undefined;
  await inf?.stop().catch(() => {});
}
