#!/usr/bin/env node
/**
 * The lab's node agent (one process per node, on the host): registers its Node, keeps its Lease
 * fresh, and realises each pod bound to the node as a network namespace + routed veth with a /32 from
 * the node's pod range, running the container command as a local process in it, only after
 * kube-router has programmed the pod's rules in the node's netns. Writes real pod status.
 * State per pod lives in .lab/nodes/<node>/pods/<uid>/ so a restarted agent re-adopts running pods.
 *
 *   node lab/agent.ts --node nalab-node-1 --index 1 --kubeconfig .lab/agent-nalab-node-1.kubeconfig
 */
import { spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { CNI_TRY_AGAIN_LATER, type CniPod, ciliumCni } from './cilium-cni.ts';
import {
  ENFORCERS,
  K8S_VERSION,
  LAB_DIR,
  NETAUDIT_BIN,
  NETTOOL,
  NODE_BIN,
  NODES_DIR,
  nodeSpec,
  POD_EXEC,
  podNetns,
} from './config.ts';
import { LAB_IMAGE, LAB_TOOL_IMAGE } from './image.ts';
import { isAlive, labNetnsInodes, procStartTime } from './procs.ts';
import { apiServerEnv, provideServiceAccount, serviceAccountMount } from './service-account.ts';
import { inNetns, netnsExists, netnsList, run, sleep } from './sh.ts';

const log = pino({ base: { node: undefined } });

// ---------------------------------------------------------------------------------------------------
// Arguments and paths

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const index = Number(arg('index'));
const node = nodeSpec(index);
if (arg('node') && arg('node') !== node.name)
  throw new Error(`--node ${arg('node')} does not match index ${index}`);
const enforcer = ENFORCERS.find((e) => e === (arg('enforcer') ?? 'kube-router'));
if (!enforcer) throw new Error(`--enforcer wants ${ENFORCERS.join(' or ')}, got ${arg('enforcer')}`);
const kubeconfigFile = arg('kubeconfig') ?? resolve(LAB_DIR, `agent-${node.name}.kubeconfig`);
const NODE_DIR = resolve(NODES_DIR, node.name);
const PODS_DIR = resolve(NODE_DIR, 'pods');
const ENFORCER_OFF = resolve(NODE_DIR, 'enforcer-off');
const IPAM_FILE = resolve(NODE_DIR, 'ipam.json');
mkdirSync(PODS_DIR, { recursive: true });
const L = log.child({ node: node.name });

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfigFile);
const core = kc.makeApiClient(k8s.CoreV1Api);
const coord = kc.makeApiClient(k8s.CoordinationV1Api);
const SMP = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

const TERMINATION_MESSAGE_CAP = 4096;
const FALLBACK_LOG_CAP = 2048;
const FALLBACK_LOG_LINES = 80;
const LEASE_SECONDS = 40;
const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function apiCode(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'number') return e.code;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Node registration, status and Lease

async function registerNode(): Promise<void> {
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

async function patchNodeStatus(): Promise<void> {
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

async function renewLease(): Promise<void> {
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

function every(ms: number, what: string, fn: () => Promise<void>): void {
  const tick = async () => {
    if (stopping) return;
    try {
      await fn();
    } catch (e) {
      L.warn({ err: String(e) }, `${what} failed`);
    }
    if (!stopping) setTimeout(tick, ms).unref();
  };
  setTimeout(tick, ms).unref();
}

// ---------------------------------------------------------------------------------------------------
// Pod records (persisted) and runtime

interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

interface ContainerRec {
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

interface PodRec {
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  netns: string;
  hostNetwork: boolean;
  veth?: string;
  startTime: string;
  phase: 'setup' | 'running' | 'terminal';
  podPhase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
  containers: ContainerRec[];
  conditionTimes: Record<string, { status: string; time: string }>;
}

interface PodRuntime {
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

const runtimes = new Map<string, PodRuntime>();
const queues = new Map<string, Promise<void>>();
let stopping = false;

/** Serialises all work on one pod. */
function enqueue(uid: string, what: string, fn: () => Promise<void>): Promise<void> {
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

const podDir = (uid: string) => resolve(PODS_DIR, uid);

function saveRec(rec: PodRec): void {
  const dir = podDir(rec.uid);
  mkdirSync(dir, { recursive: true });
  const tmp = resolve(dir, 'state.json.tmp');
  writeFileSync(tmp, JSON.stringify(rec, null, 1));
  renameSync(tmp, resolve(dir, 'state.json'));
}

function loadRecs(): Map<string, PodRec> {
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

// ---------------------------------------------------------------------------------------------------
// IP allocation: /32s from the node's /24, .2-.254, round-robin so a freed IP is not reused at once.

function allocateIp(recs: Iterable<PodRec>): string {
  const used = new Set<string>();
  for (const r of recs) if (!r.hostNetwork && r.phase !== 'terminal') used.add(r.ip);
  // Namespaces still present (e.g. being torn down) also hold their IP.
  for (const ns of netnsCache) {
    const m = /^nalab-pod-(198-19-\d+-\d+)$/.exec(ns);
    if (m?.[1]) used.add(m[1].replaceAll('-', '.'));
  }
  let next = 2;
  try {
    next = (JSON.parse(readFileSync(IPAM_FILE, 'utf8')) as { next: number }).next;
  } catch {}
  for (let i = 0; i < 253; i++) {
    const oct = ((next - 2 + i) % 253) + 2;
    const ip = `198.19.${node.index}.${oct}`;
    if (!used.has(ip)) {
      writeFileSync(IPAM_FILE, JSON.stringify({ next: ((oct - 1) % 253) + 2 }));
      return ip;
    }
  }
  throw new Error(`no free pod IP on ${node.name}`);
}
let netnsCache: string[] = [];

// ---------------------------------------------------------------------------------------------------
// Pod network

async function setupPodNetwork(rec: PodRec): Promise<void> {
  if (rec.hostNetwork) return;
  const oct = rec.ip.split('.')[3];
  const veth = `vp${oct}`;
  rec.veth = veth;
  if (await netnsExists(rec.netns)) await teardownPodNetwork(rec);
  await run('ip', ['netns', 'add', rec.netns]);
  // Few sequential steps (each a process spawn): under a pod storm on 2 cores they add up.
  const nodeSide = {
    input: [
      `link add ${veth} type veth peer name eth0 netns ${rec.netns}`,
      `link set ${veth} up`,
      `route replace ${rec.ip}/32 dev ${veth}`,
    ].join('\n'),
  };
  if ((await run('ip', ['-n', node.netns, '-batch', '-'], { ...nodeSide, check: false })).code !== 0) {
    // A stale veth of the same name (an interrupted teardown): remove it and try once more.
    await run('ip', ['-n', node.netns, 'link', 'del', veth], { check: false });
    await run('ip', ['-n', node.netns, '-batch', '-'], nodeSide);
  }
  await Promise.all([
    inNetns(rec.netns, 'sysctl', [
      '-q',
      '-w',
      'net.ipv4.ip_unprivileged_port_start=0',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]),
    run('ip', ['-n', rec.netns, '-batch', '-'], {
      input: [
        'link set lo up',
        `addr add ${rec.ip}/32 dev eth0`,
        'link set eth0 up',
        `route add ${node.ip} dev eth0 scope link`,
        // Via the node, as Calico routes a pod (169.254.1.1): one neighbour entry per pod. A device
        // route makes the pod ARP for every address it talks to, and the kernel's neighbour table is
        // shared by every netns (gc_thresh3 1024): a round's probe pods overflowed it, and the lost
        // datagrams read as UDP probes that timed out.
        `route add default via ${node.ip} dev eth0`,
      ].join('\n'),
    }),
    // proxy_delay: proxy ARP answers are otherwise delayed up to 0.8 s (the default 80 jiffies).
    inNetns(node.netns, 'sysctl', [
      '-q',
      '-w',
      `net.ipv4.conf.${veth}.proxy_arp=1`,
      `net.ipv4.neigh.${veth}.proxy_delay=0`,
    ]),
  ]);
}

async function killNetnsProcesses(netns: string): Promise<void> {
  const inodes = labNetnsInodes();
  let ino: number | undefined;
  for (const [i, n] of inodes) if (n === netns) ino = i;
  if (ino === undefined) return;
  for (let round = 0; round < 50; round++) {
    let found = 0;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const link = statSync(`/proc/${d}/ns/net`).ino;
        if (link === ino) {
          found++;
          process.kill(Number(d), 'SIGKILL');
        }
      } catch {}
    }
    if (!found) return;
    await sleep(20);
  }
}

async function teardownPodNetwork(rec: PodRec): Promise<void> {
  if (rec.hostNetwork) return;
  await killNetnsProcesses(rec.netns);
  // Cilium removes the endpoint (or queues the removal while its agent is down) while the veth exists.
  if (enforcer === 'cilium' && rec.veth && (await netnsExists(rec.netns))) {
    const r = await ciliumCni('DEL', node, cniPod(rec));
    if (!r.ok) L.warn({ pod: `${rec.namespace}/${rec.name}`, err: r.error }, 'CNI DEL failed');
  }
  await run('ip', ['netns', 'del', rec.netns], { check: false });
  if (rec.veth) await run('ip', ['-n', node.netns, 'link', 'del', rec.veth], { check: false });
  await run('ip', ['-n', node.netns, 'route', 'del', `${rec.ip}/32`], { check: false });
}

// ---------------------------------------------------------------------------------------------------
// Waiting for kube-router: the pod's command starts only once its rules are in the node netns.

const programWaiters = new Map<string, { resolve: () => void; since: number }[]>();
let pollerRunning = false;

function enforcerOff(): boolean {
  return existsSync(ENFORCER_OFF);
}

function cniPod(rec: PodRec): CniPod {
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
async function ciliumAdd(rt: PodRuntime): Promise<void> {
  for (let delay = 500; !rt.deleting && !rt.gone && !stopping; delay = Math.min(delay * 2, 10_000)) {
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
async function ciliumCheck(rt: PodRuntime): Promise<void> {
  const pod = `${rt.rec.namespace}/${rt.rec.name}`;
  for (let delay = 500; !rt.deleting && !rt.gone && !stopping; delay = Math.min(delay * 2, 10_000)) {
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
async function waitEnforced(rt: PodRuntime): Promise<void> {
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
    while (programWaiters.size > 0 && !stopping) {
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

function cancelWait(ip: string): void {
  const ws = programWaiters.get(ip);
  programWaiters.delete(ip);
  for (const w of ws ?? []) w.resolve();
}

// ---------------------------------------------------------------------------------------------------
// Images and commands

type Resolved = { argv: string[] } | { reason: string; message: string };

function resolveCommand(c: k8s.V1Container, env: Record<string, string>): Resolved {
  const image = c.image ?? '';
  const expand = (s: string) =>
    s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) =>
      m === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : m,
    );
  const command = (c.command ?? []).map(expand);
  const args = (c.args ?? []).map(expand);
  if (image === LAB_IMAGE) {
    const argv = command.length ? [...command, ...args] : ['netaudit', ...args];
    const first = argv[0] ?? '';
    if (first !== 'netaudit' && !first.endsWith('/netaudit')) {
      return {
        reason: 'CommandNotSupportedByLab',
        message: `the netaudit lab runs image ${LAB_IMAGE} as the local netaudit build and only runs its netaudit command, not ${first}`,
      };
    }
    return { argv: [NETAUDIT_BIN, ...argv.slice(1)] };
  }
  if (image === LAB_TOOL_IMAGE) {
    const argv = command.length ? [...command, ...args] : ['nettool', ...args];
    const first = argv[0] ?? '';
    if (first !== 'nettool') {
      return {
        reason: 'CommandNotSupportedByLab',
        message: `image ${LAB_TOOL_IMAGE} only runs the lab's nettool command, not ${first}`,
      };
    }
    return { argv: [NODE_BIN, '--disable-warning=ExperimentalWarning', NETTOOL, ...argv.slice(1)] };
  }
  return {
    reason: 'ImageNotSupportedByLab',
    message: `the netaudit lab has no container runtime and cannot run image ${image}; only ${LAB_IMAGE} runs (the local netaudit build) and ${LAB_TOOL_IMAGE} (the lab's network tool)`,
  };
}

function fieldRef(pod: k8s.V1Pod, rec: PodRec, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name':
      return rec.name;
    case 'metadata.namespace':
      return rec.namespace;
    case 'metadata.uid':
      return rec.uid;
    case 'spec.nodeName':
      return node.name;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return rec.ip;
    case 'status.hostIP':
    case 'status.hostIPs':
      return node.ip;
    default:
      return '';
  }
}

function containerEnv(pod: k8s.V1Pod, rec: PodRec, c: k8s.V1Container): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${dirname(NODE_BIN)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOSTNAME: rec.name,
    HOME: '/root',
    ...apiServerEnv(),
  };
  const sa = serviceAccountMount(pod);
  // pod-exec.sh bind-mounts these (SOURCE=TARGET;...) in the container's own mount namespace.
  if (sa) env.NALAB_MOUNTS = `${serviceAccountDir(rec.uid)}=${sa.mountPath}`;
  const expand = (s: string) =>
    s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m2, name?: string) =>
      m2 === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : m2,
    );
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, rec, e.valueFrom.fieldRef.fieldPath);
    else env[e.name] = '';
  }
  return env;
}

function securityIds(pod: k8s.V1Pod, c: k8s.V1Container): { uid: string; gid: string; opts: string } {
  const uid = c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  const gid = c.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup;
  const opts: string[] = [];
  if (c.securityContext?.allowPrivilegeEscalation === false) opts.push('nnp');
  if (c.securityContext?.capabilities?.drop?.some((x) => x.toUpperCase() === 'ALL')) opts.push('dropall');
  return {
    uid: uid === undefined ? '-' : String(uid),
    gid: gid === undefined ? '-' : String(gid),
    opts: opts.join(',') || '-',
  };
}

// ---------------------------------------------------------------------------------------------------
// Containers

const containerId = (rec: PodRec, c: ContainerRec) => `nalab://${rec.uid}/${c.name}/${c.restartCount}`;
const files = (rec: PodRec, name: string) => {
  const dir = podDir(rec.uid);
  return {
    exit: resolve(dir, `${name}.exit`),
    msg: resolve(dir, `${name}.termination-log`),
    log: resolve(dir, `${name}.log`),
  };
};

const serviceAccountDir = (uid: string) => resolve(podDir(uid), 'serviceaccount');

/** The projected ServiceAccount token, when the pod mounts one: written before any container starts. */
async function prepareVolumes(rt: PodRuntime): Promise<void> {
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

function startContainer(rt: PodRuntime, c: ContainerRec): void {
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
function watchAdopted(rt: PodRuntime, c: ContainerRec): void {
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

async function onContainerExit(rt: PodRuntime, name: string, gen: number): Promise<void> {
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

function scheduleRestart(rt: PodRuntime, c: ContainerRec, delay: number): void {
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

async function finishIfDone(rt: PodRuntime): Promise<void> {
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

async function killContainers(rt: PodRuntime, graceSeconds: number): Promise<void> {
  const live = () =>
    rt.rec.containers.filter((c) => c.pid && isAlive({ pid: c.pid, startTime: c.procStart ?? 0 }));
  for (const c of live()) signalContainer(c, 'SIGTERM');
  const deadline = Date.now() + graceSeconds * 1000;
  while (live().length && Date.now() < deadline) await sleep(50);
  for (const c of live()) signalContainer(c, 'SIGKILL');
  for (let i = 0; i < 100 && live().length; i++) await sleep(20);
}

// ---------------------------------------------------------------------------------------------------
// Pod status

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

async function writeStatus(rt: PodRuntime): Promise<void> {
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
  try {
    const updated = await core.patchNamespacedPodStatus(
      { name: rec.name, namespace: rec.namespace, body: { status } },
      SMP,
    );
    if (updated.metadata?.uid === rec.uid) rt.pod = updated;
  } catch (e) {
    if (apiCode(e) === 404) rt.gone = true;
    else throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Reconciling pods

function newRuntime(rec: PodRec, pod: k8s.V1Pod): PodRuntime {
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

async function createPod(pod: k8s.V1Pod): Promise<void> {
  const uid = pod.metadata?.uid ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const hostNetwork = pod.spec?.hostNetwork === true;
  netnsCache = await netnsList();
  const recs = [...runtimes.values()].map((r) => r.rec);
  const ip = hostNetwork ? node.ip : allocateIp(recs);
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
  // Images and commands the lab cannot run: a clear terminal status, never a hang.
  const problems: { c: ContainerRec; reason: string; message: string }[] = [];
  for (const c of rec.containers) {
    const spec = pod.spec?.containers.find((x) => x.name === c.name);
    if (!spec) continue;
    const r = resolveCommand(spec, containerEnv(pod, rec, spec));
    if ('argv' in r) c.argv = r.argv;
    else problems.push({ c, reason: r.reason, message: r.message });
  }
  if ((pod.spec?.initContainers ?? []).length > 0) {
    for (const c of rec.containers)
      problems.push({
        c,
        reason: 'InitContainersNotSupportedByLab',
        message: 'the netaudit lab does not run init containers',
      });
  }
  if (problems.length > 0) {
    for (const p of problems) p.c.waiting = { reason: p.reason, message: p.message };
    rec.ip = '';
    rec.phase = 'terminal';
    rec.podPhase = 'Failed';
    rec.reason = problems[0]?.reason ?? 'Unsupported';
    rec.message = problems[0]?.message ?? '';
    saveRec(rec);
    await writeStatus(rt);
    L.warn({ pod: `${namespace}/${name}`, reason: rec.reason }, 'pod cannot run in the lab');
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

async function deletePod(rt: PodRuntime, pod: k8s.V1Pod | undefined): Promise<void> {
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

async function adopt(rec: PodRec, pod: k8s.V1Pod): Promise<void> {
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

async function startInformer(): Promise<void> {
  if (stopping) return;
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
    if (stopping || informer !== inf) return;
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

async function sweepOrphans(): Promise<void> {
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

async function main(): Promise<void> {
  L.info({ ip: node.ip, podCidr: node.podCidr }, 'node agent starting');
  savedRecs = loadRecs();
  for (;;) {
    try {
      await registerNode();
      await renewLease();
      break;
    } catch (e) {
      L.warn({ err: String(e) }, 'cannot register node yet; retrying');
      await sleep(1000);
    }
  }
  every(10_000, 'lease renewal', renewLease);
  every(30_000, 'node status', patchNodeStatus);
  await startInformer();
  await sweepOrphans();
  L.info('node agent ready');
}

async function shutdown(sig: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  L.info({ sig }, 'node agent stopping (pods keep running; a restarted agent re-adopts them)');
  const inf = informer;
  informer = undefined;
  await inf?.stop().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((e: unknown) => {
  L.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'node agent failed');
  process.exit(1);
});
