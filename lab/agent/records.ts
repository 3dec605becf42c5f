/**
 * What the agent knows about each of its pods: the record persisted under .lab/nodes/<node>/pods/<uid>/
 * (so a restarted agent re-adopts running pods), the in-memory runtime next to it, and the queue that
 * serialises all work on one pod.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { L, PODS_DIR } from './context.ts';

export interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

export interface ContainerRec {
  name: string;
  image: string;
  argv?: string[];
  pid?: number;
  procStart?: number;
  startedAt?: string;
  restartCount: number;
  generation: number;
  terminated?: Terminated;
  lastTerminated?: Terminated;
  waiting?: { reason: string; message?: string };
  restartAt?: number;
}

export interface PodRec {
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  netns: string;
  hostNetwork: boolean;
  veth?: string;
  startTime: string;
  /** `unstartable`: Pending for good, its containers waiting with the reason they cannot start. */
  phase: 'setup' | 'running' | 'unstartable' | 'terminal';
  podPhase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
  containers: ContainerRec[];
  conditionTimes: Record<string, { status: string; time: string }>;
}

export interface PodRuntime {
  rec: PodRec;
  pod: k8s.V1Pod;
  deleting: boolean;
  gone: boolean;
  /** A CNI CHECK of a re-adopted pod (and its repair) is queued or running. */
  checking?: boolean;
  deadlineTimer?: NodeJS.Timeout;
  restartTimers: Map<string, NodeJS.Timeout>;
  watchers: Map<string, NodeJS.Timeout>;
}

export const runtimes = new Map<string, PodRuntime>();
const queues = new Map<string, Promise<void>>();
/** Serialises all work on one pod. */
export function enqueue(uid: string, what: string, fn: () => Promise<void>): Promise<void> {
  const prev = queues.get(uid) ?? Promise.resolve();
  const next = prev
    .then(fn)
    .catch((e: unknown) =>
      L.error({ uid, err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, `${what} failed`),
    );
  queues.set(uid, next);
  void next.then(() => {
    if (queues.get(uid) === next) queues.delete(uid);
  });
  return next;
}

export const podDir = (uid: string) => resolve(PODS_DIR, uid);

export function saveRec(rec: PodRec): void {
  const dir = podDir(rec.uid);
  mkdirSync(dir, { recursive: true });
  const tmp = resolve(dir, 'state.json.tmp');
  writeFileSync(tmp, JSON.stringify(rec, null, 1));
  renameSync(tmp, resolve(dir, 'state.json'));
}

export function loadRecs(): Map<string, PodRec> {
  const m = new Map<string, PodRec>();
  for (const uid of readdirSync(PODS_DIR)) {
    try {
      m.set(uid, JSON.parse(readFileSync(resolve(podDir(uid), 'state.json'), 'utf8')) as PodRec);
    } catch {
      rmSync(podDir(uid), { recursive: true, force: true });
    }
  }
  return m;
}

export const containerId = (rec: PodRec, c: ContainerRec) => `nalab://${rec.uid}/${c.name}/${c.restartCount}`;
export const files = (rec: PodRec, name: string) => {
  const dir = podDir(rec.uid);
  return {
    exit: resolve(dir, `${name}.exit`),
    msg: resolve(dir, `${name}.termination-log`),
    log: resolve(dir, `${name}.log`),
  };
};

export const serviceAccountDir = (uid: string) => resolve(podDir(uid), 'serviceaccount');
