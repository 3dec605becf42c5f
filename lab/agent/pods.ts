/**
 * A pod's life on this node: created (network, enforcement, token, containers), re-adopted after an
 * agent restart, failed at its activeDeadlineSeconds, and deleted as a kubelet finalises a deletion.
 */
import { readFileSync, rmSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import { podNetns } from '../config.ts';
import { isAlive } from '../procs.ts';
import { netnsExists, netnsList } from '../sh.ts';
import {
  killContainers,
  onContainerExit,
  prepareVolumes,
  scheduleRestart,
  startContainer,
  watchAdopted,
} from './containers.ts';
import { apiCode, core, enforcer, L, node, nowIso } from './context.ts';
import { cancelWait, ciliumCheck, waitEnforced } from './enforcement.ts';
import { containerEnv, resolveCommand } from './images.ts';
import { allocateIp, setupPodNetwork, teardownPodNetwork } from './pod-network.ts';
import { writeStatus } from './pod-status.ts';
import {
  containerId,
  enqueue,
  files,
  type PodRec,
  type PodRuntime,
  podDir,
  runtimes,
  saveRec,
} from './records.ts';
import { cannotStart, type StartProblem } from './start-errors.ts';

export function newRuntime(rec: PodRec, pod: k8s.V1Pod): PodRuntime {
  const rt: PodRuntime = {
    rec,
    pod,
    deleting: false,
    gone: false,
    restartTimers: new Map(),
    watchers: new Map(),
  };
  runtimes.set(rec.uid, rt);
  return rt;
}

export async function createPod(pod: k8s.V1Pod): Promise<void> {
  const uid = pod.metadata?.uid ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const hostNetwork = pod.spec?.hostNetwork === true;
  const netnsNames = await netnsList();
  const recs = [...runtimes.values()].map((r) => r.rec);
  const ip = hostNetwork ? node.ip : allocateIp(recs, netnsNames);
  const rec: PodRec = {
    uid,
    namespace,
    name,
    ip,
    netns: hostNetwork ? node.netns : podNetns(ip),
    hostNetwork,
    startTime: nowIso(),
    phase: 'setup',
    containers: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      restartCount: 0,
      generation: 0,
    })),
    conditionTimes: {},
  };
  const rt = newRuntime(rec, pod);
  const t0 = performance.now();
  // Images and commands the lab cannot run: the status a kubelet would give them, never a hang.
  const problems: StartProblem[] = [];
  for (const c of rec.containers) {
    const spec = pod.spec?.containers.find((x) => x.name === c.name);
    if (!spec) continue;
    const r = resolveCommand(spec, containerEnv(pod, rec, spec));
    if ('argv' in r) c.argv = r.argv;
    else problems.push({ c, problem: r.problem, message: r.message });
  }
  if ((pod.spec?.initContainers ?? []).length > 0) {
    for (const c of rec.containers)
      problems.push({ c, problem: 'config', message: 'the netaudit lab does not run init containers' });
  }
  if (problems.length > 0) {
    await cannotStart(rt, problems);
    return;
  }
  saveRec(rec);
  await setupPodNetwork(rec);
  saveRec(rec);
  await writeStatus(rt);
  const tNet = performance.now();
  await waitEnforced(rt);
  if (rt.deleting || rt.gone) return;
  const tRules = performance.now();
  await prepareVolumes(rt);
  if (rt.deleting || rt.gone) return;
  rec.phase = 'running';
  for (const c of rec.containers) startContainer(rt, c);
  saveRec(rec);
  armDeadline(rt);
  await writeStatus(rt);
  L.info(
    {
      pod: `${namespace}/${name}`,
      ip,
      netMs: Math.round(tNet - t0),
      rulesMs: Math.round(tRules - tNet),
      totalMs: Math.round(performance.now() - t0),
    },
    'pod running',
  );
}

function armDeadline(rt: PodRuntime): void {
  const secs = rt.pod.spec?.activeDeadlineSeconds;
  if (!secs || rt.rec.phase === 'terminal') return;
  const left = Date.parse(rt.rec.startTime) + secs * 1000 - Date.now();
  rt.deadlineTimer = setTimeout(
    () => {
      void enqueue(rt.rec.uid, 'deadline', async () => {
        const { rec } = rt;
        if (rec.phase === 'terminal' || rt.deleting) return;
        rec.reason = 'DeadlineExceeded';
        rec.message = 'Pod was active on the node longer than the specified deadline';
        for (const t of rt.restartTimers.values()) clearTimeout(t);
        await killContainers(rt, rt.pod.spec?.terminationGracePeriodSeconds ?? 30);
        for (const c of rec.containers) {
          if (!c.terminated) {
            const f = files(rec, c.name);
            let exitCode = 137;
            try {
              exitCode = Number(readFileSync(f.exit, 'utf8').trim().split(' ')[0]);
            } catch {}
            c.terminated = {
              exitCode,
              reason: 'DeadlineExceeded',
              startedAt: c.startedAt ?? nowIso(),
              finishedAt: nowIso(),
              containerID: containerId(rec, c),
            };
            c.generation += 1;
            delete c.pid;
            delete c.waiting;
          }
        }
        rec.podPhase = 'Failed';
        rec.phase = 'terminal';
        await teardownPodNetwork(rec);
        saveRec(rec);
        await writeStatus(rt);
        L.info({ pod: `${rec.namespace}/${rec.name}` }, 'deadline exceeded');
      });
    },
    Math.max(0, left),
  );
}

export async function deletePod(rt: PodRuntime, pod: k8s.V1Pod | undefined): Promise<void> {
  const { rec } = rt;
  rt.deleting = true;
  cancelWait(rec.ip);
  if (rt.deadlineTimer) clearTimeout(rt.deadlineTimer);
  for (const t of rt.restartTimers.values()) clearTimeout(t);
  for (const t of rt.watchers.values()) clearInterval(t);
  const grace = pod
    ? (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30)
    : 0;
  await killContainers(rt, grace);
  await teardownPodNetwork(rec);
  rmSync(podDir(rec.uid), { recursive: true, force: true });
  runtimes.delete(rec.uid);
  if (pod && !rt.gone) {
    try {
      await core.deleteNamespacedPod({
        name: rec.name,
        namespace: rec.namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: rec.uid } },
      });
    } catch (e) {
      const code = apiCode(e);
      if (code !== 404 && code !== 409) throw e;
    }
  }
  L.info({ pod: `${rec.namespace}/${rec.name}` }, 'pod deleted');
}

export async function adopt(rec: PodRec, pod: k8s.V1Pod): Promise<void> {
  const rt = newRuntime(rec, pod);
  L.info({ pod: `${rec.namespace}/${rec.name}`, phase: rec.phase }, 'adopting pod');
  if (rec.phase === 'setup') {
    // Interrupted before the command started: set the network up again and carry on.
    rec.phase = 'setup';
    await setupPodNetwork(rec);
    saveRec(rec);
    await writeStatus(rt);
    await waitEnforced(rt);
    await prepareVolumes(rt);
    if (rt.deleting || rt.gone) return;
    rec.phase = 'running';
    for (const c of rec.containers) startContainer(rt, c);
    saveRec(rec);
    armDeadline(rt);
    await writeStatus(rt);
    return;
  }
  if (rec.phase === 'running') {
    if (!rec.hostNetwork && !(await netnsExists(rec.netns))) {
      // The pod network is gone (e.g. the machine rebooted): make it again, rules first, then restart.
      await setupPodNetwork(rec);
      await waitEnforced(rt);
    } else if (!rec.hostNetwork && enforcer === 'cilium') {
      // Serialised with the pod's other work; a deletion cuts a waiting check short.
      rt.checking = true;
      void enqueue(rec.uid, 'CNI CHECK', () =>
        ciliumCheck(rt).finally(() => {
          rt.checking = false;
        }),
      );
    }
    for (const c of rec.containers) {
      if (c.terminated) continue;
      if (c.pid && isAlive({ pid: c.pid, startTime: c.procStart ?? 0 })) watchAdopted(rt, c);
      else if (c.pid) {
        const gen = c.generation;
        void enqueue(rec.uid, 'container exit', () => onContainerExit(rt, c.name, gen));
      } else if (c.restartAt !== undefined) scheduleRestart(rt, c, Math.max(0, c.restartAt - Date.now()));
    }
    armDeadline(rt);
  }
  await writeStatus(rt);
}
