/**
 * The real `cilium-cni` plugin, chained after the lab's own pod networking (generic-veth chaining: the
 * lab made the netns, veth, /32 and routes; Cilium attaches its programs and policy to them). ADD
 * returns once the endpoint's programs and policy are loaded, so a pod's command starts after it.
 */
import { resolve } from 'node:path';
import { CILIUM_BIN, ciliumNodeDir, type NodeSpec } from '../config.ts';
import { run } from '../sh.ts';

export interface CniPod {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly netns: string;
  readonly veth: string;
}

/** `code` is the CNI error code the plugin reported (11: try again later, e.g. its agent is down). */
export type CniResult = { ok: true } | { ok: false; error: string; code?: number };

/** The CNI spec's "try again later": not a verdict on the pod, the plugin could not ask. */
export const CNI_TRY_AGAIN_LATER = 11;

/**
 * The plugin finds the pod's veth in CNI_NETNS and its peer by index in its own netns: it must run in
 * the node netns. /run/cilium bound to the node's directory makes it talk to that node's agent, and
 * a DEL while the agent is down is queued in that node's deleteQueue, never on the host.
 */
const CNI_WRAPPER = 'mount --bind "$C/run" /run/cilium && exec "$BIN/cilium-cni"';

export async function ciliumCni(
  cmd: 'ADD' | 'DEL' | 'CHECK',
  node: NodeSpec,
  pod: CniPod,
): Promise<CniResult> {
  const dir = ciliumNodeDir(node.name);
  const sandbox = `/var/run/netns/${pod.netns}`;
  const conf = {
    cniVersion: '1.0.0',
    name: 'nalab',
    type: 'cilium-cni',
    'chaining-mode': 'generic-veth',
    'log-file': resolve(dir, 'cni.log'),
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: pod.veth }, { name: 'eth0', sandbox }],
      ips: [{ address: `${pod.ip}/32`, interface: 1 }],
    },
  };
  const r = await run('ip', ['netns', 'exec', node.netns, 'sh', '-c', CNI_WRAPPER], {
    check: false,
    timeoutMs: 300_000,
    input: JSON.stringify(conf),
    env: {
      ...process.env,
      C: dir,
      BIN: CILIUM_BIN,
      CNI_COMMAND: cmd,
      // DEL and CHECK find the endpoint by <container id>:<ifname>.
      CNI_CONTAINERID: pod.uid,
      CNI_IFNAME: 'eth0',
      CNI_PATH: CILIUM_BIN,
      CNI_NETNS: sandbox,
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_UID=${pod.uid}`,
    },
  });
  if (r.code === 0) return { ok: true };
  // The plugin reports errors as a JSON object on stdout ({code, msg, details}).
  let msg = r.stdout.trim() || r.stderr.trim();
  let code: number | undefined;
  try {
    const e = JSON.parse(r.stdout) as { code?: number; msg?: string; details?: string };
    if (e.msg) msg = `${e.msg}${e.details ? `: ${e.details}` : ''}`;
    if (typeof e.code === 'number') code = e.code;
  } catch {}
  return {
    ok: false,
    error: `cilium-cni ${cmd} for ${pod.namespace}/${pod.name} (${pod.ip}) exit ${r.code}: ${msg}`,
    ...(code === undefined ? {} : { code }),
  };
}
