/**
 * Pods the lab cannot start get the status a kubelet gives them, so that a client tells them apart
 * with the reasons it knows from any cluster: an image the lab cannot run is `ErrImagePull`, then
 * `ImagePullBackOff` (the pod stays Pending); a command the image does not have is
 * `RunContainerError` (with restartPolicy Never: terminated `StartError`, exit 128, pod Failed); a
 * pod spec the lab does not support (init containers) is `CreateContainerConfigError` (Pending).
 * Nothing of such a pod runs and it gets no network.
 */
import { L, nowIso } from './context.ts';
import { writeStatus } from './pod-status.ts';
import { type ContainerRec, containerId, enqueue, type PodRuntime, saveRec } from './records.ts';

export interface StartProblem {
  readonly c: ContainerRec;
  readonly problem: 'image' | 'command' | 'config';
  readonly message: string;
}

/** The kubelet retries a failed pull after a back-off of 10 s and up; the lab, as for restarts, sooner. */
const PULL_BACKOFF_MS = 1000;

export async function cannotStart(rt: PodRuntime, problems: readonly StartProblem[]): Promise<void> {
  const { rec, pod } = rt;
  const never = pod.spec?.restartPolicy === 'Never';
  for (const p of problems) {
    if (p.problem === 'image') {
      p.c.waiting = { reason: 'ErrImagePull', message: p.message };
      backOff(rt, p.c, p.message);
    } else if (p.problem === 'config') {
      p.c.waiting = { reason: 'CreateContainerConfigError', message: p.message };
    } else if (never) {
      const now = nowIso();
      // What a container runtime reports for a process that could not be started: exit 128, and a
      // start time of the epoch since it never started.
      p.c.terminated = {
        exitCode: 128,
        reason: 'StartError',
        message: p.message,
        startedAt: '1970-01-01T00:00:00Z',
        finishedAt: now,
        containerID: containerId(rec, p.c),
      };
    } else {
      p.c.waiting = { reason: 'RunContainerError', message: p.message };
    }
  }
  rec.ip = '';
  if (rec.containers.every((c) => c.terminated)) {
    rec.phase = 'terminal';
    rec.podPhase = 'Failed';
  } else rec.phase = 'unstartable';
  saveRec(rec);
  await writeStatus(rt);
  const first = problems[0];
  L.warn(
    {
      pod: `${rec.namespace}/${rec.name}`,
      reason: first?.c.terminated?.reason ?? first?.c.waiting?.reason,
      message: first?.message,
    },
    'pod cannot start in the lab',
  );
}

/** After the failed pull, the container waits in back-off, its message saying what the pull said. */
function backOff(rt: PodRuntime, c: ContainerRec, message: string): void {
  const image = c.image;
  const t = setTimeout(() => {
    rt.restartTimers.delete(c.name);
    void enqueue(rt.rec.uid, 'image pull back-off', async () => {
      if (rt.deleting || rt.gone || rt.rec.phase !== 'unstartable') return;
      c.waiting = {
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image "${image}": ErrImagePull: ${message}`,
      };
      saveRec(rt.rec);
      await writeStatus(rt);
    });
  }, PULL_BACKOFF_MS);
  rt.restartTimers.set(c.name, t);
}
