/**
 * kube-router's network policy controller, one per node netns: started once its Node exists, waited
 * for until its chains are there, stopped and flushed by the enforcer-off fault, and after a restart
 * waited for until it has programmed every pod of its node again and its rules have settled.
 */
import { KUBE_ROUTER_BIN, nodeIndexOf, nodeSpec, SERVICE_CIDR } from '../config.ts';
import { kubectlGetJson, type PodLite } from '../control-plane/api.ts';
import { kubeconfigFor } from '../control-plane/pki.ts';
import { ensureProcess, isAlive, requireBinary } from '../procs.ts';
import { say } from '../progress.ts';
import { inNetns, sleep, waitFor } from '../sh.ts';
import { readState } from '../state.ts';

export function ensureKubeRouter(index: number): void {
  requireBinary(KUBE_ROUTER_BIN);
  const n = nodeSpec(index);
  ensureProcess(
    `kube-router-${n.name}`,
    [
      KUBE_ROUTER_BIN,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      `--kubeconfig=${kubeconfigFor('kube-router')}`,
      `--hostname-override=${n.name}`,
      '--health-port=0',
      '--metrics-port=0',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
    ],
    { netns: n.netns, env: { ...process.env, NODE_NAME: n.name } },
  );
}

/** Starts kube-router on these nodes and waits until each has set up its chains. */
export async function startKubeRouters(routers: readonly number[]): Promise<void> {
  for (const i of routers) ensureKubeRouter(i);
  say('waiting for kube-router to set up its chains');
  for (const i of routers) {
    await waitFor(
      `kube-router on ${nodeSpec(i).name}`,
      async () => {
        const rec = readState().processes[`kube-router-${nodeSpec(i).name}`];
        if (!isAlive(rec)) throw new Error(`kube-router exited; see ${rec?.log}`);
        return (
          (
            await inNetns(nodeSpec(i).netns, 'iptables', ['-w', '-S', 'KUBE-ROUTER-FORWARD'], {
              check: false,
            })
          ).code === 0
        );
      },
      60_000,
      100,
    );
  }
}

export async function flushEnforcer(netns: string): Promise<void> {
  await inNetns(netns, 'iptables', ['-w', '-t', 'filter', '-F'], { check: false });
  await inNetns(netns, 'iptables', ['-w', '-t', 'filter', '-X'], { check: false });
  await inNetns(netns, 'ipset', ['flush'], { check: false });
  await inNetns(netns, 'ipset', ['destroy'], { check: false });
}

/**
 * Waits until a restarted kube-router has programmed every running pod of its node again, and then
 * until its rules have stopped changing.
 */
export async function waitReprogrammed(name: string): Promise<void> {
  const n = nodeSpec(nodeIndexOf(name) ?? 0);
  await waitFor(
    `kube-router on ${name} to program its pods`,
    async () => {
      const pods = (await kubectlGetJson(`/api/v1/pods?fieldSelector=spec.nodeName%3D${name}`)) as {
        items: PodLite[];
      };
      const ips = pods.items
        .filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.spec?.hostNetwork)
        .map((p) => p.status?.podIP ?? '');
      const r = await inNetns(n.netns, 'iptables', ['-w', '-S', 'KUBE-ROUTER-FORWARD'], { check: false });
      if (r.code !== 0) return false;
      return ips.every((ip) => r.stdout.includes(`-d ${ip}/32`));
    },
    60_000,
    100,
  );
  // A restarted kube-router then keeps rewriting its rules and ipsets for a while (its first full
  // syncs). Probes during that window meet half-built state, which is the lab's restart, not
  // enforcement: "restored" means the rules have stopped changing (3 s alike, at most 30 s).
  await rulesSettled(n.netns);
}

/** Waits until the node's filter rules and ipsets have been the same for 3 s (at most 30 s). */
async function rulesSettled(netns: string): Promise<void> {
  const snapshot = async (): Promise<string> => {
    const rules = await inNetns(netns, 'iptables-save', ['-t', 'filter'], { check: false });
    const sets = await inNetns(netns, 'ipset', ['save'], { check: false });
    // Counters change with every packet, and the header carries the time: compare the rules only.
    const ruleLines = rules.stdout
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ''));
    return `${ruleLines.join('\n')}\n${sets.stdout}`;
  };
  const deadline = Date.now() + 30_000;
  let last = await snapshot();
  let since = Date.now();
  while (Date.now() < deadline && Date.now() - since < 3000) {
    await sleep(500);
    const now = await snapshot();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}
