/**
 * Container processes: started through pod-exec.sh in the pod's netns, watched until they exit,
 * restarted per restartPolicy with back-off, signalled and killed on deletion.
 */
import { spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { POD_EXEC } from '../config.ts';
import { isAlive, procStartTime } from '../procs.ts';
import { sleep } from '../sh.ts';
import { core, FALLBACK_LOG_CAP, FALLBACK_LOG_LINES, L, nowIso, TERMINATION_MESSAGE_CAP } from './context.ts';
import { containerEnv, securityIds } from './images.ts';
import { teardownPodNetwork } from './pod-network.ts';
import { writeStatus } from './pod-status.ts';
import {
  type ContainerRec,
  containerId,
  enqueue,
  files,
  type PodRuntime,
  saveRec,
  serviceAccountDir,
  type Terminated,
} from './records.ts';
import { provideServiceAccount, serviceAccountMount } from './service-account.ts';

/** The projected ServiceAccount token, when the pod mounts one: written before any container starts. */
export async function prepareVolumes(rt: PodRuntime): Promise<void> {
  const sa = serviceAccountMount(rt.pod);
  if (!sa) return;
  const pod = `${rt.rec.namespace}/${rt.rec.name}`;
  try {
    await provideServiceAccount(
      core,
      rt.pod,
      sa,
      serviceAccountDir(rt.rec.uid),
      () => !rt.gone && !rt.deleting,
      (e) => L.warn({ pod, err: String(e) }, 'service-account token refresh failed; retrying'),
    );
  } catch (e) {
    // As a kubelet would, start anyway: the container sees no token and says so itself.
    L.error({ pod, err: String(e) }, 'could not get a service-account token');
  }
}

export function startContainer(rt: PodRuntime, c: ContainerRec): void {
  const { rec, pod } = rt;
  const spec = pod.spec?.containers.find((x) => x.name === c.name);
  if (!spec || !c.argv) return;
  const f = files(rec, c.name);
  rmSync(f.exit, { force: true });
  writeFileSync(f.msg, '');
  const { uid, gid, opts } = securityIds(pod, spec);
  if (uid !== '-') chownSync(f.msg, Number(uid), gid === '-' ? 0 : Number(gid));
  const fd = openSync(f.log, 'a');
  const env = containerEnv(pod, rec, spec);
  const termPath = spec.terminationMessagePath || '/dev/termination-log';
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      rec.netns,
      POD_EXEC,
      f.exit,
      f.msg,
      termPath,
      uid,
      gid,
      spec.workingDir || '/',
      opts,
      '--',
      ...c.argv,
    ],
    { detached: true, stdio: ['ignore', fd, fd], env },
  );
  closeSync(fd);
  child.unref();
  const pid = child.pid ?? 0;
  c.pid = pid;
  c.procStart = procStartTime(pid) ?? 0;
  c.startedAt = nowIso();
  c.generation += 1;
  delete c.terminated;
  delete c.waiting;
  delete c.restartAt;
  const gen = c.generation;
  child.on('exit', () => {
    void enqueue(rec.uid, 'container exit', () => onContainerExit(rt, c.name, gen));
  });
  child.on('error', (e) => L.error({ pod: `${rec.namespace}/${rec.name}`, err: e.message }, 'spawn failed'));
  L.info({ pod: `${rec.namespace}/${rec.name}`, container: c.name, pid, ip: rec.ip }, 'container started');
}

/** For containers re-adopted after an agent restart: poll until the process is gone. */
export function watchAdopted(rt: PodRuntime, c: ContainerRec): void {
  const gen = c.generation;
  const t = setInterval(() => {
    if (c.generation !== gen || !c.pid) {
      clearInterval(t);
      return;
    }
    if (!isAlive({ pid: c.pid, startTime: c.procStart ?? 0 })) {
      clearInterval(t);
      rt.watchers.delete(c.name);
      void enqueue(rt.rec.uid, 'container exit', () => onContainerExit(rt, c.name, gen));
    }
  }, 250);
  rt.watchers.set(c.name, t);
}

function readCapped(path: string, cap: number): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(cap);
      const n = readSync(fd, buf, 0, cap, 0);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function tailLog(path: string): string {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      const lines = buf.toString('utf8').split('\n');
      let text = lines.slice(-FALLBACK_LOG_LINES - 1).join('\n');
      if (Buffer.byteLength(text) > FALLBACK_LOG_CAP)
        text = Buffer.from(text).subarray(-FALLBACK_LOG_CAP).toString();
      return text;
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

export async function onContainerExit(rt: PodRuntime, name: string, gen: number): Promise<void> {
  const { rec, pod } = rt;
  const c = rec.containers.find((x) => x.name === name);
  // Exits caused by a deletion are handled (and the record removed) by deletePod.
  if (!c || c.generation !== gen || c.terminated || rt.deleting) return;
  const f = files(rec, name);
  let exitCode = 137;
  let finishedAt = nowIso();
  try {
    const [code, at] = readFileSync(f.exit, 'utf8').trim().split(' ');
    exitCode = Number(code);
    if (at) finishedAt = at;
  } catch {}
  const spec = pod.spec?.containers.find((x) => x.name === name);
  let message = readCapped(f.msg, TERMINATION_MESSAGE_CAP);
  if (!message && exitCode !== 0 && spec?.terminationMessagePolicy === 'FallbackToLogsOnError') {
    message = tailLog(f.log);
  }
  const terminated: Terminated = {
    exitCode,
    reason: rt.deleting ? (exitCode === 0 ? 'Completed' : 'Error') : exitCode === 0 ? 'Completed' : 'Error',
    ...(message ? { message } : {}),
    startedAt: c.startedAt ?? finishedAt,
    finishedAt,
    containerID: containerId(rec, c),
  };
  if (rec.reason === 'DeadlineExceeded') terminated.reason = 'Error';
  delete c.pid;
  L.info({ pod: `${rec.namespace}/${rec.name}`, container: name, exitCode }, 'container exited');
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const restart =
    !rt.deleting &&
    rec.phase === 'running' &&
    rec.reason !== 'DeadlineExceeded' &&
    (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0));
  if (restart) {
    c.lastTerminated = terminated;
    const delay = Math.min(1000 * 2 ** c.restartCount, 30000);
    c.restartCount += 1;
    c.waiting = {
      reason: 'CrashLoopBackOff',
      message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${name} pod=${rec.name}_${rec.namespace}(${rec.uid})`,
    };
    c.restartAt = Date.now() + delay;
    scheduleRestart(rt, c, delay);
  } else {
    c.terminated = terminated;
  }
  await finishIfDone(rt);
  saveRec(rec);
  await writeStatus(rt);
}

export function scheduleRestart(rt: PodRuntime, c: ContainerRec, delay: number): void {
  const t = setTimeout(() => {
    rt.restartTimers.delete(c.name);
    void enqueue(rt.rec.uid, 'container restart', async () => {
      if (rt.deleting || rt.rec.phase !== 'running' || c.terminated) return;
      startContainer(rt, c);
      saveRec(rt.rec);
      await writeStatus(rt);
    });
  }, delay);
  rt.restartTimers.set(c.name, t);
}

export async function finishIfDone(rt: PodRuntime): Promise<void> {
  const { rec } = rt;
  if (rec.phase !== 'running') return;
  if (!rec.containers.every((c) => c.terminated)) return;
  const ok = rec.containers.every((c) => c.terminated?.exitCode === 0) && rec.reason !== 'DeadlineExceeded';
  rec.podPhase = ok ? 'Succeeded' : 'Failed';
  rec.phase = 'terminal';
  if (rt.deadlineTimer) clearTimeout(rt.deadlineTimer);
  if (!rt.deleting) await teardownPodNetwork(rec);
  L.info({ pod: `${rec.namespace}/${rec.name}`, phase: rec.podPhase }, 'pod finished');
}

function signalContainer(c: ContainerRec, sig: NodeJS.Signals): void {
  if (!c.pid || !isAlive({ pid: c.pid, startTime: c.procStart ?? 0 })) return;
  try {
    // The wrapper forwards SIGTERM to the container process; SIGKILL goes to the whole group.
    if (sig === 'SIGKILL') process.kill(-c.pid, sig);
    else process.kill(c.pid, sig);
  } catch {}
}

export async function killContainers(rt: PodRuntime, graceSeconds: number): Promise<void> {
  const live = () =>
    rt.rec.containers.filter((c) => c.pid && isAlive({ pid: c.pid, startTime: c.procStart ?? 0 }));
  for (const c of live()) signalContainer(c, 'SIGTERM');
  const deadline = Date.now() + graceSeconds * 1000;
  while (live().length && Date.now() < deadline) await sleep(50);
  for (const c of live()) signalContainer(c, 'SIGKILL');
  for (let i = 0; i < 100 && live().length; i++) await sleep(20);
}
