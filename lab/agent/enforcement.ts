/**
 * A pod's command starts only once its node's enforcer has it: kube-router's rules for its IP in the
 * node netns, or Cilium's endpoint (CNI ADD). No fail-open window.
 */
import { existsSync } from 'node:fs';
import { CNI_TRY_AGAIN_LATER, type CniPod, ciliumCni } from '../enforcer/cilium-cni.ts';
import { inNetns, run, sleep } from '../sh.ts';
import { agentState, ENFORCER_OFF, enforcer, L, node } from './context.ts';
import type { PodRec, PodRuntime } from './records.ts';

const programWaiters = new Map<string, { resolve: () => void; since: number }[]>();
let pollerRunning = false;

export function enforcerOff(): boolean {
  return existsSync(ENFORCER_OFF);
}

export function cniPod(rec: PodRec): CniPod {
  return {
    uid: rec.uid,
    namespace: rec.namespace,
    name: rec.name,
    ip: rec.ip,
    netns: rec.netns,
    veth: rec.veth ?? '',
  };
}

/**
 * Under Cilium, CNI ADD returns once the endpoint's programs and policy are loaded: the pod's command
 * starts after it, never before (no fail-open window). A failed ADD leaves the pod Pending and is
 * retried with backoff until the pod goes away. Under `enforcer-off` ADD still runs: only the agent's
 * enforcement mode changed, as on a cluster whose CNI silently stopped enforcing.
 */
export async function ciliumAdd(rt: PodRuntime): Promise<void> {
  for (
    let delay = 500;
    !rt.deleting && !rt.gone && !agentState.stopping;
    delay = Math.min(delay * 2, 10_000)
  ) {
    const r = await ciliumCni('ADD', node, cniPod(rt.rec));
    if (r.ok) return;
    L.warn({ pod: `${rt.rec.namespace}/${rt.rec.name}`, err: r.error, retryMs: delay }, 'CNI ADD failed');
    await sleep(delay);
  }
}

/**
 * A re-adopted pod's endpoint may be gone (removed while this agent was away, or not restored by a
 * restarted Cilium agent): CNI CHECK asks Cilium whether it is there and healthy; if not, DEL and ADD
 * program it again, as a container runtime re-runs a failed check's network set-up. The pod keeps
 * running meanwhile. A plugin that cannot ask (its agent not answering yet) is asked again later.
 */
export async function ciliumCheck(rt: PodRuntime): Promise<void> {
  const pod = `${rt.rec.namespace}/${rt.rec.name}`;
  for (
    let delay = 500;
    !rt.deleting && !rt.gone && !agentState.stopping;
    delay = Math.min(delay * 2, 10_000)
  ) {
    const r = await ciliumCni('CHECK', node, cniPod(rt.rec));
    if (r.ok) {
      L.info({ pod }, 'CNI CHECK passed: the endpoint is there and healthy');
      return;
    }
    if (r.code === CNI_TRY_AGAIN_LATER) {
      L.warn({ pod, err: r.error, retryMs: delay }, 'CNI CHECK could not ask its agent');
      await sleep(delay);
      continue;
    }
    L.warn({ pod, err: r.error }, 'CNI CHECK failed: setting the endpoint up again');
    const del = await ciliumCni('DEL', node, cniPod(rt.rec));
    if (!del.ok) L.warn({ pod, err: del.error }, 'CNI DEL failed');
    // Cilium sets an endpoint's host-side veth down when it deletes the endpoint, and the kernel drops
    // the pod's /32 with it: the lab's side of the set-up comes first again.
    const veth = rt.rec.veth ?? '';
    await run('ip', ['-n', node.netns, '-batch', '-'], {
      input: `link set ${veth} up\nroute replace ${rt.rec.ip}/32 dev ${veth}\n`,
      check: false,
    });
    await ciliumAdd(rt);
    L.info({ pod }, 'endpoint set up again after a failed CNI CHECK');
    return;
  }
}

/** The pod's rules (kube-router) or endpoint (Cilium) are in place: its command may start. */
export async function waitEnforced(rt: PodRuntime): Promise<void> {
  if (rt.rec.hostNetwork) return;
  if (enforcer === 'cilium') await ciliumAdd(rt);
  else await waitProgrammed(rt.rec.ip);
}

function waitProgrammed(ip: string): Promise<void> {
  if (enforcerOff()) return Promise.resolve();
  return new Promise((resolveWait) => {
    const list = programWaiters.get(ip) ?? [];
    list.push({ resolve: resolveWait, since: Date.now() });
    programWaiters.set(ip, list);
    if (!pollerRunning) void pollProgrammed();
  });
}

async function pollProgrammed(): Promise<void> {
  pollerRunning = true;
  let lastWarn = Date.now();
  try {
    while (programWaiters.size > 0 && !agentState.stopping) {
      const off = enforcerOff();
      let text = '';
      if (!off) {
        const r = await inNetns(node.netns, 'iptables', ['-w', '-S', 'KUBE-ROUTER-FORWARD'], {
          check: false,
        });
        text = r.stdout;
      }
      for (const [ip, waiters] of [...programWaiters]) {
        const re = new RegExp(`-d ${ip.replaceAll('.', '\\.')}/32 .*-j KUBE-POD-FW-`);
        if (off || re.test(text)) {
          programWaiters.delete(ip);
          for (const w of waiters) w.resolve();
        }
      }
      if (programWaiters.size > 0 && Date.now() - lastWarn > 10000) {
        lastWarn = Date.now();
        L.warn({ pods: [...programWaiters.keys()] }, 'still waiting for kube-router to program pods');
      }
      await sleep(50);
    }
  } finally {
    pollerRunning = false;
  }
}

export function cancelWait(ip: string): void {
  const ws = programWaiters.get(ip);
  programWaiters.delete(ip);
  for (const w of ws ?? []) w.resolve();
}
