/**
 * The lab's Cilium enforcer: one cilium-agent per node netns (generic-veth CNI chaining on the lab's
 * own veths, CRD identities, no kvstore, no kube-proxy replacement, no socket load balancing).
 * Everything an agent makes lives in its node netns or under .lab/cilium/<node>; nothing touches the
 * host's /run/cilium, /sys/fs/bpf, /etc/cni, /opt/cni or its sysctls.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import {
  API_SERVER,
  CILIUM_BIN,
  CILIUM_CACHE,
  CILIUM_LAB_DIR,
  ciliumNodeDir,
  ciliumSocket,
  LOG_DIR,
  type NodeSpec,
  PKI_DIR,
} from '../config.ts';
import { out, run, sleep, tryRun, waitFor } from '../sh.ts';

/**
 * Host sysctls the agent writes with errors ignored (kernel.unprivileged_bpf_disabled=1 cannot be
 * undone before a reboot): each agent sees them read-only, `up` records them and `leftovers` compares.
 */
export const HOST_KERNEL_SYSCTLS = ['kernel.unprivileged_bpf_disabled', 'kernel.timer_migration'] as const;

/** The machine's cgroup2 hierarchy (a hybrid layout here): where socket-LB programs would attach. */
const CGROUP2 = existsSync('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

/**
 * The host values of HOST_KERNEL_SYSCTLS before the first agent started, kept beside the logs: `down`
 * removes the state file, and `leftovers` (run after it) must still know what to compare with.
 */
const HOST_SYSCTLS_FILE = resolve(LOG_DIR, 'cilium-host-sysctls.json');

export function recordHostSysctls(values: Readonly<Record<string, string>>): void {
  if (!existsSync(HOST_SYSCTLS_FILE)) writeFileSync(HOST_SYSCTLS_FILE, `${JSON.stringify(values)}\n`);
}

function recordedHostSysctls(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(HOST_SYSCTLS_FILE, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/** Clang 19 first on the agent's PATH: it runs `clang` by that name to compile its datapath. */
const LLVM_BIN = '/usr/lib/llvm-19/bin';

export type PolicyMode = 'default' | 'never';

/** What `up` refuses on: a machine where Cilium itself runs (each agent start detaches its programs). */
export async function ciliumPreconditions(): Promise<
  { ok: true; sysctls: Record<string, string> } | { ok: false; error: string }
> {
  for (const b of ['cilium-agent', 'cilium-cni', 'cilium-dbg'])
    if (!existsSync(resolve(CILIUM_BIN, b)))
      return { ok: false, error: `${CILIUM_BIN}/${b} is missing: run scripts/lab.d/build.sh cilium` };
  if (!existsSync(resolve(LLVM_BIN, 'clang')))
    return {
      ok: false,
      error: `${LLVM_BIN}/clang is missing: apt-get install clang-19 (scripts/lab.d/deps.sh cilium)`,
    };
  let hostRun: string[] = [];
  try {
    hostRun = readdirSync('/run/cilium');
  } catch {}
  if (hostRun.length)
    return {
      ok: false,
      error: `/run/cilium on the host is not empty (${hostRun.join(', ')}): this machine seems to run Cilium; the lab's agents would detach its programs`,
    };
  const tree = await run('bpftool', ['cgroup', 'tree', CGROUP2], { check: false });
  if (/\bcil_/.test(tree.stdout))
    return {
      ok: false,
      error: 'a cil_* program is attached to the host cgroup tree: this machine runs Cilium',
    };
  const sysctls: Record<string, string> = {};
  for (const k of HOST_KERNEL_SYSCTLS) sysctls[k] = (await out('sysctl', ['-n', k])).trim();
  return { ok: true, sysctls };
}

// ---------------------------------------------------------------------------------------------------
// CRDs: upstream the operator registers them; the lab runs no operator, so `up` applies them.

function adminTls(): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(resolve(PKI_DIR, 'ca.crt')),
    cert: readFileSync(resolve(PKI_DIR, 'admin.crt')),
    key: readFileSync(resolve(PKI_DIR, 'admin.key')),
  };
}

export function apiRequest(
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  return new Promise((resolveReq, reject) => {
    const req = https.request(
      `${API_SERVER}${path}`,
      {
        method,
        ...adminTls(),
        timeout: 10_000,
        headers: body === undefined ? {} : { 'Content-Type': contentType },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolveReq({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function applyCiliumCrds(): Promise<void> {
  const names: string[] = [];
  // network-policy-api: ClusterNetworkPolicy, which the agent watches (--enable-k8s-cluster-network-policy).
  for (const v of ['v2', 'v2alpha1', 'network-policy-api']) {
    const dir = resolve(CILIUM_CACHE, 'crds', v);
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      const text = readFileSync(resolve(dir, f), 'utf8');
      const name = (parse(text) as { metadata?: { name?: string } }).metadata?.name;
      if (!name) throw new Error(`${dir}/${f}: no metadata.name`);
      const r = await apiRequest(
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=netaudit-lab&force=true`,
        text,
        'application/apply-patch+yaml',
      );
      if (r.status >= 300) throw new Error(`applying CRD ${name}: ${r.status} ${r.body.slice(0, 300)}`);
      names.push(name);
    }
  }
  await waitFor(
    'Cilium CRDs Established',
    async () => {
      for (const name of names) {
        const r = await apiRequest('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        const c = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
        if (!c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) return false;
      }
      return true;
    },
    60_000,
    200,
  );
}

// ---------------------------------------------------------------------------------------------------
// Per node: a bpffs instance and a writable lib dir on the host, then the agent in the node netns.

/** Mounts the node's bpffs (pins outlive agent restarts, as on a real node) and copies the BPF sources. */
export async function prepareCiliumNode(n: NodeSpec): Promise<void> {
  const dir = ciliumNodeDir(n.name);
  for (const d of ['run', 'bpffs', 'lib']) mkdirSync(resolve(dir, d), { recursive: true });
  if (!(await tryRun('mountpoint', ['-q', resolve(dir, 'bpffs')])))
    await run('mount', ['-t', 'bpf', 'bpf', resolve(dir, 'bpffs')]);
  if (!existsSync(resolve(dir, 'lib', 'bpf', 'bpf_lxc.c')))
    cpSync(resolve(CILIUM_CACHE, 'bpf'), resolve(dir, 'lib', 'bpf'), { recursive: true });
  // The mount point the agent's private bind goes on; the host's stays empty.
  mkdirSync('/run/cilium', { recursive: true });
  const sock = ciliumSocket(n.name);
  if (Buffer.byteLength(sock) > 107)
    throw new Error(
      `${sock} is longer than a Unix socket path may be (107 bytes): move the checkout or NALAB_DIR`,
    );
}

/**
 * The agent's private mount namespace (ip netns exec gives one): its /run/cilium and /sys/fs/bpf are
 * the node's, and the two kernel.* sysctls it would write machine-wide are read-only, so its write fails
 * and the host keeps its values.
 */
const AGENT_WRAPPER = `
mount --bind "$C/run" /run/cilium
mount --bind "$C/bpffs" /sys/fs/bpf
for f in unprivileged_bpf_disabled timer_migration; do
  mount --bind /proc/sys/kernel/$f /proc/sys/kernel/$f
  mount -o remount,bind,ro /proc/sys/kernel/$f
done
exec "$BIN/cilium-agent" "$@"`;

export function ciliumAgentCommand(
  n: NodeSpec,
  kubeconfig: string,
  mode: PolicyMode,
): { argv: string[]; env: NodeJS.ProcessEnv } {
  const dir = ciliumNodeDir(n.name);
  const flags = [
    `--k8s-kubeconfig-path=${kubeconfig}`,
    `--lib-dir=${resolve(dir, 'lib')}`,
    '--identity-allocation-mode=crd',
    '--cni-chaining-mode=generic-veth',
    // Pod IPs are the lab's; delegated IPAM needs a router IP and health checks off.
    '--ipam=delegated-plugin',
    '--local-router-ipv4=169.254.23.0',
    '--routing-mode=native',
    '--ipv4-native-routing-cidr=198.19.0.0/16',
    '--enable-local-node-route=false',
    '--enable-ipv4=true',
    '--enable-ipv6=false',
    '--enable-ipv4-masquerade=false',
    '--enable-identity-mark=false',
    '--enable-host-legacy-routing=true',
    // Never: cgroup hooks ignore netns, so socket LB would hook every process of the machine.
    '--kube-proxy-replacement=false',
    '--bpf-lb-sock=false',
    '--enable-l7-proxy=false',
    '--enable-health-checking=false',
    '--enable-endpoint-health-checking=false',
    '--enable-hubble=false',
    '--enable-gops=false',
    // No native device (the node netns has no default route): else cilium_host gets 65520.
    '--mtu=1500',
    '--bpf-ct-global-tcp-max=65536',
    '--bpf-ct-global-any-max=32768',
    '--bpf-policy-map-max=4096',
    // A restarted agent keeps an `enforcer-off` fault (the API setting lives in memory only).
    `--enable-policy=${mode}`,
    // ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2); its CRD is applied with Cilium's.
    '--enable-k8s-cluster-network-policy=true',
  ];
  return {
    argv: ['sh', '-ec', AGENT_WRAPPER, `cilium-agent-${n.name}`, ...flags],
    env: {
      ...process.env,
      C: dir,
      BIN: CILIUM_BIN,
      K8S_NODE_NAME: n.name,
      PATH: `${LLVM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The agent's API on its Unix socket (host side: .lab/cilium/<node>/run/cilium.sock)

export function agentApi(
  node: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolveReq, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: ciliumSocket(node),
        path: `/v1${path}`,
        method,
        timeout: 10_000,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolveReq({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`cilium-agent ${node} ${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface AgentHealth {
  readonly ok: boolean;
  readonly summary: string;
}

/** `GET /v1/healthz`: the agent's own verdict (state Ok) and a one-line summary for `status`. */
export async function ciliumHealth(node: string): Promise<AgentHealth> {
  try {
    const r = await agentApi(node, 'GET', '/healthz');
    if (r.status !== 200) return { ok: false, summary: `healthz ${r.status}` };
    const h = JSON.parse(r.body) as { cilium?: { state?: string; msg?: string } };
    const state = h.cilium?.state ?? '?';
    // When Ok the message is only the version string; otherwise it says what is wrong.
    const why = state !== 'Ok' && h.cilium?.msg ? ` (${h.cilium.msg.trim()})` : '';
    return { ok: state === 'Ok', summary: `cilium-agent ${state}${why}` };
  } catch (e) {
    return { ok: false, summary: `no answer on ${ciliumSocket(node)}: ${(e as Error).message}` };
  }
}

interface EndpointLite {
  id: number;
  status?: {
    state?: string;
    networking?: { addressing?: { ipv4?: string }[] };
    policy?: { realized?: { 'policy-revision'?: number } };
  };
}

export async function ciliumEndpoints(node: string): Promise<EndpointLite[]> {
  const r = await agentApi(node, 'GET', '/endpoint');
  if (r.status !== 200) throw new Error(`GET /v1/endpoint on ${node}: ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as EndpointLite[];
}

/** The endpoint of a pod IP, when it is ready. */
export async function endpointReady(node: string, ip: string): Promise<boolean> {
  return (await ciliumEndpoints(node)).some(
    (e) => e.status?.state === 'ready' && e.status.networking?.addressing?.some((a) => a.ipv4 === ip),
  );
}

/**
 * Switches the node's enforcement (`never` is what a broken agent looks like: its programs stay
 * attached and pass everything). The handler regenerates every endpoint; this waits until the mode is
 * realized and every endpoint is ready at the policy revision current after the change.
 */
export async function setPolicyEnforcement(node: string, mode: PolicyMode): Promise<void> {
  const r = await agentApi(node, 'PATCH', '/config', { 'policy-enforcement': mode });
  if (r.status !== 200) throw new Error(`PATCH /v1/config on ${node}: ${r.status} ${r.body.slice(0, 200)}`);
  await waitEnforcement(node, mode);
}

export async function waitEnforcement(node: string, mode: PolicyMode, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `cilium-agent on ${node}: policy enforcement ${mode} realized on every endpoint`,
    async () => {
      const c = await agentApi(node, 'GET', '/config');
      const realized = (JSON.parse(c.body) as { status?: { realized?: { 'policy-enforcement'?: string } } })
        .status?.realized?.['policy-enforcement'];
      if (realized !== mode) return false;
      const p = await agentApi(node, 'GET', '/policy');
      const revision = (JSON.parse(p.body) as { revision?: number }).revision ?? 0;
      const eps = await ciliumEndpoints(node);
      return eps.every(
        (e) =>
          e.status?.state === 'ready' && (e.status.policy?.realized?.['policy-revision'] ?? 0) >= revision,
      );
    },
    timeoutMs,
    200,
  );
}

// ---------------------------------------------------------------------------------------------------
// down and leftovers

function labBpfMounts(): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {}
  return text
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${CILIUM_LAB_DIR}/`));
}

/** After the agents are gone: unmounting a node's bpffs frees its pinned programs and maps. */
export async function ciliumDown(): Promise<void> {
  for (const m of labBpfMounts().sort().reverse()) {
    for (let i = 0; i < 20 && !(await tryRun('umount', [m])); i++) await sleep(100);
    if (labBpfMounts().includes(m)) await run('umount', ['-l', m], { check: false });
  }
  rmSync(CILIUM_LAB_DIR, { recursive: true, force: true });
  // Only the empty mount point `up` made: a non-empty /run/cilium is not the lab's.
  try {
    if (readdirSync('/run/cilium').length === 0) rmSync('/run/cilium', { recursive: true });
  } catch {}
}

export async function ciliumLeftovers(): Promise<string[]> {
  const left: string[] = [];
  const recorded = recordedHostSysctls();
  for (const m of labBpfMounts()) left.push(`mount ${m}`);
  if (existsSync('/run/cilium')) left.push('directory /run/cilium');
  for (const k of HOST_KERNEL_SYSCTLS) {
    const want = recorded[k];
    const now = (await out('sysctl', ['-n', k])).trim();
    if (want !== undefined && now !== want) left.push(`sysctl ${k} = ${now} (was ${want} before the lab)`);
  }
  // bpftool comes with the Cilium lab's packages: a machine that never ran it has no programs to find.
  const progs = await run('bpftool', ['prog', 'show'], { check: false }).catch(() => undefined);
  for (const l of progs?.stdout.split('\n') ?? [])
    if (/name cil_/.test(l)) left.push(`bpf program ${l.trim()}`);
  const tree = await run('bpftool', ['cgroup', 'tree', CGROUP2], { check: false }).catch(() => undefined);
  for (const l of tree?.stdout.split('\n') ?? [])
    if (/\bcil_/.test(l)) left.push(`cgroup program ${l.trim()}`);
  return left;
}
