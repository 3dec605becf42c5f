/**
 * Lab orchestration: `up` (idempotent), `down` (removes everything, also after a crash), `status`,
 * fault injection and external stand-ins. Called by scripts/lab through lab/cli.ts.
 */
import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { dirname, resolve } from 'node:path';
import {
  apiRequest,
  applyCiliumCrds,
  ciliumAgentCommand,
  ciliumDown,
  ciliumHealth,
  ciliumLeftovers,
  ciliumPreconditions,
  type PolicyMode,
  prepareCiliumNode,
  recordHostSysctls,
  setPolicyEnforcement,
} from './cilium.ts';
import {
  AGENT,
  API_PORT,
  API_SERVER,
  AUDIT_LOG,
  AUDIT_POLICY,
  BRIDGE,
  BRIDGE_PREFIX,
  DEFAULT_EXTERNALS,
  type Enforcer,
  ETCD_CLIENT,
  ETCD_PEER,
  EXTERNAL_PORTS,
  externalSpec,
  HOST_IP,
  HOST_UNREACHABLE,
  K8S_BIN,
  KUBE_ROUTER_BIN,
  KUBECONFIG,
  LAB_DIR,
  LAB_RANGES,
  LOG_DIR,
  NETTOOL,
  NODE_BIN,
  NODES_DIR,
  nodeIndexOf,
  nodeSpec,
  PKI_DIR,
  REPO,
  SERVICE_CIDR,
} from './config.ts';
import { LAB_TOOL_IMAGE } from './image.ts';
import { findLabProcesses, isAlive, startDetached, stopProcess } from './procs.ts';
import { inNetns, linkExists, netnsExists, netnsList, out, run, sleep, tryRun, waitFor } from './sh.ts';
import { type DropFault, type LabState, readState, updateState, writeState } from './state.ts';

const quiet = process.env.CI === 'true' || process.env.CI === '1' || !process.stderr.isTTY;
let t0 = Date.now();
export function say(msg: string): void {
  if (!quiet) process.stderr.write(`\x1b[2m[lab ${((Date.now() - t0) / 1000).toFixed(1)}s]\x1b[0m ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------------
// Host safety: unreachable routes for the lab ranges, and a drop for lab-sourced packets on the uplink

const SAFETY = 'nalab-safety';

async function uplinks(): Promise<string[]> {
  const r = await run('ip', ['-j', 'route', 'show', 'default'], { check: false });
  const devs = r.stdout.trim() ? (JSON.parse(r.stdout) as { dev?: string }[]).map((x) => x.dev ?? '') : [];
  return [...new Set(devs.filter((d) => d && !d.startsWith('nalab')))];
}

async function ensureIptablesRule(table: string, chain: string, rule: string[]): Promise<void> {
  if (await tryRun('iptables', ['-w', '-t', table, '-C', chain, ...rule])) return;
  await run('iptables', ['-w', '-t', table, '-I', chain, '1', ...rule]);
}

export async function ensureSafety(): Promise<void> {
  const devs = await uplinks();
  const rules: string[][] = [];
  for (const dev of devs) {
    for (const range of LAB_RANGES) {
      for (const chain of ['FORWARD', 'OUTPUT']) {
        const rule = ['-s', range, '-o', dev, '-m', 'comment', '--comment', SAFETY, '-j', 'DROP'];
        await ensureIptablesRule('filter', chain, rule);
        rules.push([chain, ...rule]);
      }
    }
  }
  // Host routes: the whole node/pod range, but only the stand-ins' /32s of TEST-NET-3: this sandbox
  // serves its package registries from 203.0.113.80 through the uplink (docs/lab.md).
  const routes: string[][] = [];
  for (const dst of [HOST_UNREACHABLE, ...readState().externals.map((ip) => `${ip}/32`)]) {
    await run('ip', ['route', 'replace', 'unreachable', dst]);
    routes.push(['unreachable', dst]);
  }
  updateState((s) => {
    s.uplink = devs.join(',');
    s.safetyRules = rules;
    s.hostRoutes = routes;
  });
}

/**
 * The kernel's ARP table is one for every network namespace, and its thresholds can only be set in the
 * host's: with a few hundred pod netns a probe round can pass the default hard limit (gc_thresh3 1024),
 * and the kernel then drops the packets that needed a new entry ("neighbor table overflow"). Pods route
 * via their node (one entry each), and the lab raises the limits while it is up; `down` restores them.
 */
const NEIGH_THRESHOLDS: Record<string, number> = {
  'net.ipv4.neigh.default.gc_thresh1': 2048,
  'net.ipv4.neigh.default.gc_thresh2': 8192,
  'net.ipv4.neigh.default.gc_thresh3': 16384,
};

async function ensureNeighbourTable(): Promise<void> {
  const saved = readState().hostSysctls;
  const raise: Record<string, string> = {};
  for (const [key, want] of Object.entries(NEIGH_THRESHOLDS)) {
    const now = (await out('sysctl', ['-n', key])).trim();
    if (Number(now) >= want) continue;
    raise[key] = saved[key] ?? now;
    await run('sysctl', ['-q', '-w', `${key}=${want}`]);
  }
  if (Object.keys(raise).length) updateState((s) => Object.assign(s.hostSysctls, raise));
}

/** The kernel's defaults: what `down` puts back when the state file (and the values it kept) is gone. */
const NEIGH_KERNEL_DEFAULTS: Record<string, string> = {
  'net.ipv4.neigh.default.gc_thresh1': '128',
  'net.ipv4.neigh.default.gc_thresh2': '512',
  'net.ipv4.neigh.default.gc_thresh3': '1024',
};

async function restoreHostSysctls(recorded: Readonly<Record<string, string>>): Promise<void> {
  const saved: Record<string, string> = { ...recorded };
  for (const [key, lab] of Object.entries(NEIGH_THRESHOLDS)) {
    if (key in saved) continue;
    const now = (await out('sysctl', ['-n', key])).trim();
    if (now === String(lab)) saved[key] = NEIGH_KERNEL_DEFAULTS[key] ?? now;
  }
  // Thresholds must stay ordered (1 <= 2 <= 3) at every step: lower them from the first up.
  for (const key of Object.keys(saved).sort()) await run('sysctl', ['-q', '-w', `${key}=${saved[key]}`]);
  updateState((s) => {
    s.hostSysctls = {};
  });
}

// ---------------------------------------------------------------------------------------------------
// Bridge, nodes, stand-ins

async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await tryRun('sysctl', ['-q', '-w', `net.ipv6.conf.${BRIDGE}.disable_ipv6=1`]);
  await run('ip', ['addr', 'replace', `${HOST_IP}/${BRIDGE_PREFIX}`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  // Bridged frames go through the host's FORWARD chain (br_netfilter): let lab-to-lab traffic pass
  // even where the host's FORWARD policy is DROP. The uplink drops above stay first.
  const rule = ['-i', BRIDGE, '-o', BRIDGE, '-m', 'comment', '--comment', 'nalab-bridge', '-j', 'ACCEPT'];
  if (!(await tryRun('iptables', ['-w', '-C', 'FORWARD', ...rule])))
    await run('iptables', ['-w', '-A', 'FORWARD', ...rule]);
}

async function ensureVethToBridge(netns: string, hostVeth: string, ip: string): Promise<void> {
  if (!(await netnsExists(netns))) await run('ip', ['netns', 'add', netns]);
  await inNetns(netns, 'sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
  if (!(await linkExists('eth0', netns))) {
    await run('ip', ['link', 'del', hostVeth], { check: false });
    await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  }
  await tryRun('sysctl', ['-q', '-w', `net.ipv6.conf.${hostVeth}.disable_ipv6=1`]);
  await run('ip', ['link', 'set', hostVeth, 'master', BRIDGE, 'up']);
  await run('ip', ['-n', netns, '-batch', '-'], {
    input: ['link set lo up', `addr replace ${ip}/${BRIDGE_PREFIX} dev eth0`, 'link set eth0 up'].join('\n'),
  });
}

async function ensureNode(index: number, all: number[], externals: string[]): Promise<void> {
  const n = nodeSpec(index);
  await ensureVethToBridge(n.netns, n.hostVeth, n.ip);
  await inNetns(n.netns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  const lines: string[] = [];
  for (const j of all)
    if (j !== index) lines.push(`route replace ${nodeSpec(j).podCidr} via ${nodeSpec(j).ip}`);
  externals.forEach((ip, k) => {
    lines.push(`route replace ${ip}/32 via ${externalSpec(ip, k + 1).bridgeIp}`);
  });
  if (lines.length) await run('ip', ['-n', n.netns, '-batch', '-'], { input: lines.join('\n') });
  // The host (where the API server listens) routes the node's pods via the node, as a control-plane
  // node routes pod CIDRs: pods that talk to the API server (netaudit's Deployment) get their replies.
  // More specific than the host's unreachable 198.18.0.0/15, it leads only into the lab's own netns,
  // and it goes away with the bridge.
  await run('ip', ['route', 'replace', n.podCidr, 'via', n.ip]);
  mkdirSync(resolve(NODES_DIR, n.name, 'pods'), { recursive: true });
}

async function ensureExternal(ip: string, k: number, nodes: number[]): Promise<void> {
  const e = externalSpec(ip, k);
  await ensureVethToBridge(e.netns, e.hostVeth, e.bridgeIp);
  await run('ip', ['-n', e.netns, 'addr', 'replace', `${ip}/32`, 'dev', 'eth0']);
  // Replies (also UDP from a socket bound to 0.0.0.0) must come from the stand-in's 203.0.113.X.
  const lines = nodes.map((j) => `route replace ${nodeSpec(j).podCidr} via ${nodeSpec(j).ip} src ${ip}`);
  if (lines.length) await run('ip', ['-n', e.netns, '-batch', '-'], { input: lines.join('\n') });
  const ports = EXTERNAL_PORTS.flatMap((p) => ['--port', p]);
  ensureProcess(
    `external-${ip}`,
    [NODE_BIN, '--disable-warning=ExperimentalWarning', NETTOOL, 'serve', ...ports],
    { netns: e.netns, env: { ...process.env, HOSTNAME: `external-${ip}` } },
  );
}

// ---------------------------------------------------------------------------------------------------
// PKI and kubeconfigs (openssl; EC P-256 keys are fast to make)

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function ensureCert(name: string, subj: string, ext: { san?: string; eku: string }): Promise<void> {
  const crt = resolve(PKI_DIR, `${name}.crt`);
  if (existsSync(crt)) return;
  const key = resolve(PKI_DIR, `${name}.key`);
  const csr = resolve(PKI_DIR, `${name}.csr`);
  const extFile = resolve(PKI_DIR, `${name}.ext`);
  writeFileSync(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${ext.eku}`,
      ...(ext.san ? [`subjectAltName=${ext.san}`] : []),
    ].join('\n'),
  );
  await openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      key,
      '-subj',
      subj,
      '-out',
      csr,
    ]),
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      resolve(PKI_DIR, 'ca.crt'),
      '-CAkey',
      resolve(PKI_DIR, 'ca.key'),
    ].concat(['-set_serial', String(Date.now()), '-days', '3650', '-extfile', extFile, '-out', crt]),
  );
  rmSync(csr, { force: true });
  rmSync(extFile, { force: true });
}

function kubeconfigYaml(user: string, certName: string, server = API_SERVER): string {
  const b64 = (f: string) => readFileSync(resolve(PKI_DIR, f)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: nalab',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(`${certName}.crt`)}`,
    `    client-key-data: ${b64(`${certName}.key`)}`,
    'contexts:',
    '- name: nalab',
    '  context:',
    '    cluster: nalab',
    `    user: ${user}`,
    'current-context: nalab',
    '',
  ].join('\n');
}

const kubeconfigFor = (component: string) => resolve(LAB_DIR, `${component}.kubeconfig`);

export async function ensurePki(nodes: number[]): Promise<void> {
  mkdirSync(PKI_DIR, { recursive: true, mode: 0o700 });
  if (!existsSync(resolve(PKI_DIR, 'ca.crt'))) {
    await openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        .concat(['-keyout', resolve(PKI_DIR, 'ca.key'), '-out', resolve(PKI_DIR, 'ca.crt'), '-days', '3650'])
        .concat(['-subj', '/CN=netaudit-lab-ca', '-addext', 'basicConstraints=critical,CA:TRUE'])
        .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']),
    );
  }
  if (!existsSync(resolve(PKI_DIR, 'sa.key'))) {
    await openssl(['genrsa', '-out', resolve(PKI_DIR, 'sa.key'), '2048']);
    await openssl(['rsa', '-in', resolve(PKI_DIR, 'sa.key'), '-pubout', '-out', resolve(PKI_DIR, 'sa.pub')]);
  }
  const san = [
    `IP:${HOST_IP}`,
    'IP:127.0.0.1',
    'IP:198.18.16.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ].join(',');
  await ensureCert('apiserver', '/CN=kube-apiserver', { san, eku: 'serverAuth' });
  const clients: [string, string][] = [
    ['admin', '/O=system:masters/CN=netaudit-lab-admin'],
    ['controller-manager', '/O=system:masters/CN=system:kube-controller-manager'],
    ['scheduler', '/O=system:masters/CN=system:kube-scheduler'],
    ['kube-router', '/O=system:masters/CN=netaudit-lab-kube-router'],
    ['cilium', '/O=system:masters/CN=netaudit-lab-cilium'],
  ];
  for (const i of nodes) {
    const n = nodeSpec(i);
    clients.push([`agent-${n.name}`, `/O=system:masters/O=system:nodes/CN=system:node:${n.name}`]);
  }
  for (const [name, subj] of clients) {
    await ensureCert(name, subj, { eku: 'clientAuth' });
    const file = name === 'admin' ? KUBECONFIG : kubeconfigFor(name);
    if (!existsSync(file)) writeFileSync(file, kubeconfigYaml(name, name), { mode: 0o600 });
  }
}

// ---------------------------------------------------------------------------------------------------
// Processes

function ensureProcess(
  name: string,
  argv: string[],
  opts: { netns?: string; env?: NodeJS.ProcessEnv } = {},
): boolean {
  const s = readState();
  if (isAlive(s.processes[name])) return false;
  const rec = startDetached(name, argv, opts);
  updateState((st) => {
    st.processes[name] = rec;
  });
  say(`started ${name} (pid ${rec.pid})`);
  return true;
}

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function requireBinary(path: string): void {
  if (!existsSync(path))
    throw new Error(`${path} is missing: run scripts/lab.d/build.sh (scripts/lab up does)`);
}

async function ensureControlPlane(): Promise<void> {
  requireBinary(resolve(K8S_BIN, 'kube-apiserver'));
  mkdirSync(resolve(LAB_DIR, 'etcd'), { recursive: true, mode: 0o700 });
  ensureProcess('etcd', [
    'etcd',
    '--name=nalab',
    `--data-dir=${resolve(LAB_DIR, 'etcd')}`,
    `--listen-client-urls=${ETCD_CLIENT}`,
    `--advertise-client-urls=${ETCD_CLIENT}`,
    `--listen-peer-urls=${ETCD_PEER}`,
    `--initial-advertise-peer-urls=${ETCD_PEER}`,
    `--initial-cluster=nalab=${ETCD_PEER}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--quota-backend-bytes=4294967296',
    '--snapshot-count=10000',
  ]);
  await waitFor(
    'etcd health',
    async () => {
      const r = await fetch(`${ETCD_CLIENT}/health`, { signal: AbortSignal.timeout(1000) });
      return r.ok && ((await r.json()) as { health?: string }).health === 'true';
    },
    30_000,
    100,
  );
  say('etcd healthy');
  const pki = (f: string) => resolve(PKI_DIR, f);
  writeFileSync(AUDIT_POLICY, AUDIT_POLICY_TEXT);
  ensureProcess('kube-apiserver', [
    resolve(K8S_BIN, 'kube-apiserver'),
    `--etcd-servers=${ETCD_CLIENT}`,
    `--bind-address=${HOST_IP}`,
    `--secure-port=${API_PORT}`,
    `--advertise-address=${HOST_IP}`,
    `--cert-dir=${PKI_DIR}`,
    `--tls-cert-file=${pki('apiserver.crt')}`,
    `--tls-private-key-file=${pki('apiserver.key')}`,
    `--client-ca-file=${pki('ca.crt')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki('sa.pub')}`,
    `--service-account-signing-key-file=${pki('sa.key')}`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    '--profiling=false',
    '--event-ttl=1h',
    `--audit-policy-file=${AUDIT_POLICY}`,
    `--audit-log-path=${AUDIT_LOG}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=200',
    '--audit-log-maxbackup=1',
  ]);
  const ca = readFileSync(pki('ca.crt'));
  await waitFor(
    'kube-apiserver /readyz',
    async () => (await httpsGet(`${API_SERVER}/readyz`, ca)).status === 200,
    120_000,
    200,
  );
  say('kube-apiserver ready');
  ensureProcess('kube-controller-manager', [
    resolve(K8S_BIN, 'kube-controller-manager'),
    `--kubeconfig=${kubeconfigFor('controller-manager')}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    `--service-account-private-key-file=${pki('sa.key')}`,
    `--root-ca-file=${pki('ca.crt')}`,
    '--use-service-account-credentials=false',
    `--controllers=${KCM_CONTROLLERS.join(',')}`,
  ]);
  ensureProcess('kube-scheduler', [
    resolve(K8S_BIN, 'kube-scheduler'),
    `--kubeconfig=${kubeconfigFor('scheduler')}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
  ]);
}

/**
 * The API server's audit log records every request made by a ServiceAccount of the `netaudit`
 * namespace (metadata only): benchmarks count the controller's API requests per round from it, as an
 * operator would, without trusting netaudit's own accounting.
 */
const AUDIT_POLICY_TEXT = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:netaudit"]
  - level: None
`;

/** No node-lifecycle / taint-eviction controllers: the node agents are the only source of node health. */
export const KCM_CONTROLLERS = [
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'job-controller',
  'cronjob-controller',
  'ttl-after-finished-controller',
  'replicaset-controller',
  'deployment-controller',
  'statefulset-controller',
  'daemonset-controller',
  'disruption-controller',
  'endpointslice-controller',
  'pod-garbage-collector-controller',
  'clusterrole-aggregation-controller',
];

function ensureKubeRouter(index: number): void {
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

function ensureAgent(index: number, enforcer: Enforcer): void {
  const n = nodeSpec(index);
  ensureProcess(`agent-${n.name}`, [
    NODE_BIN,
    '--disable-warning=ExperimentalWarning',
    AGENT,
    '--node',
    n.name,
    '--index',
    String(index),
    '--enforcer',
    enforcer,
    '--kubeconfig',
    kubeconfigFor(`agent-${n.name}`),
  ]);
}

async function kubectlGetJson(path: string): Promise<unknown> {
  const ca = readFileSync(resolve(PKI_DIR, 'ca.crt'));
  const cert = readFileSync(resolve(PKI_DIR, 'admin.crt'));
  const key = readFileSync(resolve(PKI_DIR, 'admin.key'));
  return new Promise((resolveGet, reject) => {
    const req = https.get(`${API_SERVER}${path}`, { ca, cert, key, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300)
          reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`));
        else resolveGet(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface NodeLite {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}
interface PodLite {
  metadata: { name: string; namespace: string };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; hostIP?: string };
}

async function readyNodes(): Promise<Set<string>> {
  const list = (await kubectlGetJson('/api/v1/nodes')) as { items: NodeLite[] };
  return new Set(
    list.items
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name),
  );
}

// ---------------------------------------------------------------------------------------------------
// Cilium (scripts/lab up --enforcer cilium)

const ciliumAgentName = (index: number) => `cilium-agent-${nodeSpec(index).name}`;

/**
 * One agent per node, started one at a time after the Nodes exist: each compiles its datapath under
 * one shared 300 s deadline, so two compiling at once on a small machine would share that budget.
 */
async function ensureCiliumAgents(nodes: number[]): Promise<void> {
  const started: number[] = [];
  if (nodes.every((i) => isAlive(readState().processes[ciliumAgentName(i)]))) return;
  say('Cilium CRDs');
  await applyCiliumCrds();
  for (const i of nodes) {
    const n = nodeSpec(i);
    const name = ciliumAgentName(i);
    await prepareCiliumNode(n);
    const mode: PolicyMode = readState().faults.enforcerOff.includes(n.name) ? 'never' : 'default';
    const { argv, env } = ciliumAgentCommand(n, kubeconfigFor('cilium'), mode);
    if (ensureProcess(name, argv, { netns: n.netns, env })) started.push(i);
    say(`waiting for ${name} (the first start compiles its datapath)`);
    await waitFor(
      `${name} healthy`,
      async () => {
        const rec = readState().processes[name];
        if (!isAlive(rec)) throw new Error(`${name} exited; see ${rec?.log}`);
        return (await ciliumHealth(n.name)).ok;
      },
      300_000,
      250,
    );
  }
  await warmCiliumTemplates(started);
}

/**
 * A fresh agent compiles its endpoint program template (`bpf_lxc.c`) at its first endpoint, and that
 * pod would wait seconds longer than every later one. On a real node Cilium's own health endpoint
 * pays that at agent start (here health checks are off: delegated IPAM has no address for it), so
 * `up` runs one short pod per freshly started agent and deletes it: the template is then built.
 */
async function warmCiliumTemplates(nodes: number[]): Promise<void> {
  if (!nodes.length) return;
  say(`warming Cilium's endpoint template on ${nodes.length} node(s)`);
  const ns = 'kube-system';
  await Promise.all(
    nodes.map(async (i) => {
      const n = nodeSpec(i);
      const name = `nalab-warmup-${n.name}`;
      const path = `/api/v1/namespaces/${ns}/pods`;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec: {
          nodeName: n.name,
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'warmup', image: LAB_TOOL_IMAGE, command: ['nettool', 'exit'] }],
        },
      };
      // The namespace's default ServiceAccount may not exist yet on a fresh control plane: retry.
      await waitFor(
        `warm-up pod on ${n.name} created`,
        async () => {
          const r = await apiRequest('POST', path, JSON.stringify(pod));
          if (r.status === 409) return true;
          if (r.status >= 300) throw new Error(`${r.status} ${r.body.slice(0, 200)}`);
          return true;
        },
        60_000,
        250,
      );
      await waitFor(
        `warm-up pod on ${n.name} started (CNI ADD done)`,
        async () => {
          const p = JSON.parse((await apiRequest('GET', `${path}/${name}`)).body) as PodLite;
          const phase = p.status?.phase;
          if (phase === 'Failed')
            throw new Error(`warm-up pod failed on ${n.name}: see the node agent's log`);
          return phase === 'Running' || phase === 'Succeeded';
        },
        300_000,
        200,
      );
      await apiRequest('DELETE', `${path}/${name}`, JSON.stringify({ gracePeriodSeconds: 0 }));
      await waitFor(
        `warm-up pod on ${n.name} gone`,
        async () => (await apiRequest('GET', `${path}/${name}`)).status === 404,
        60_000,
        200,
      );
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// up

export interface UpOptions {
  readonly nodes?: number;
  readonly enforcer?: Enforcer;
  readonly externals?: readonly string[];
}

/**
 * Probe pods run netaudit from this checkout as a non-root user (the image's 65532), so every directory
 * above it must let others through. A checkout under `mktemp -d` (mode 0700) fails every probe pod with
 * "exit 2" far from the cause: say it here instead.
 */
export function checkoutTraversable(repo: string = REPO): string | undefined {
  for (let dir = repo; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0)
      return `the lab's pods run this checkout as uid 65532, and ${dir} does not let others through (mode ${(statSync(dir).mode & 0o777).toString(8)}): chmod o+x ${dir}, or clone elsewhere`;
    if (dirname(dir) === dir) return undefined;
  }
}

export async function up(opts: UpOptions = {}): Promise<void> {
  t0 = Date.now();
  const blocked = checkoutTraversable();
  if (blocked) throw new Error(blocked);
  const start = Date.now();
  mkdirSync(LOG_DIR, { recursive: true });
  const prev = readState();
  const want = opts.nodes ?? (prev.nodes.length || 2);
  const nodes = [...new Set([...prev.nodes, ...Array.from({ length: want }, (_, i) => i + 1)])].sort(
    (a, b) => a - b,
  );
  const externals = [...new Set([...prev.externals, ...DEFAULT_EXTERNALS, ...(opts.externals ?? [])])];
  for (const [k, ip] of externals.entries()) externalSpec(ip, k + 1);
  await checkExternals(externals.filter((ip) => !prev.externals.includes(ip)));
  // One enforcer per lab: switching means `down` first (the other's rules or programs would stay).
  const running = Object.values(prev.processes).some((p) => isAlive(p));
  const prevEnforcer = prev.enforcer ?? 'kube-router';
  const enforcer = opts.enforcer ?? (running ? prevEnforcer : 'kube-router');
  if (running && enforcer !== prevEnforcer)
    throw new Error(
      `the lab is up with ${prevEnforcer}; run scripts/lab down before up --enforcer ${enforcer}`,
    );
  if (enforcer === 'cilium') {
    const pre = await ciliumPreconditions();
    if (!pre.ok) throw new Error(pre.error);
    recordHostSysctls(pre.sysctls);
  }
  updateState((s) => {
    s.nodes = nodes;
    s.externals = externals;
    s.enforcer = enforcer;
  });
  say('traffic safety: unreachable routes + uplink drops');
  await ensureSafety();
  say(`bridge ${BRIDGE} and ${nodes.length} node netns`);
  await ensureBridge();
  await ensureNeighbourTable();
  for (const i of nodes) await ensureNode(i, nodes, externals);
  say('certificates and kubeconfigs');
  await ensurePki(nodes);
  await ensureControlPlane();
  for (const i of nodes) ensureAgent(i, enforcer);
  say('waiting for nodes Ready');
  await waitFor(
    'nodes Ready',
    async () => {
      const ready = await readyNodes();
      return nodes.every((i) => ready.has(nodeSpec(i).name));
    },
    60_000,
    200,
  );
  if (enforcer === 'cilium') await ensureCiliumAgents(nodes);
  // kube-router v2.1.0 exits when its Node does not exist yet: start it once the agent registered it.
  const routers = (enforcer === 'kube-router' ? nodes : []).filter(
    (i) => !readState().faults.enforcerOff.includes(nodeSpec(i).name),
  );
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
  say(`external stand-ins ${externals.join(' ')}`);
  for (const [k, ip] of externals.entries()) await ensureExternal(ip, k + 1, nodes);
  const ms = Date.now() - start;
  updateState((s) => {
    s.timings.lastUpMs = ms;
  });
  say(`lab up in ${(ms / 1000).toFixed(1)}s; kubeconfig ${KUBECONFIG}`);
}

/**
 * Names the machine reaches through its uplink (package registries). In this sandbox they resolve into
 * TEST-NET-3 (203.0.113.80): a stand-in must never take such an address, or the host would lose them.
 */
const UPLINK_NAMES = ['registry.npmjs.org', 'proxy.golang.org', 'deb.debian.org', 'pypi.org'];
async function addressesInUse(): Promise<Set<string>> {
  const used = new Set<string>();
  await Promise.all(
    UPLINK_NAMES.map(async (name) => {
      try {
        const r = await Promise.race([
          lookup(name, { all: true, family: 4 }),
          new Promise<{ address: string }[]>((r) => setTimeout(() => r([]), 2000).unref()),
        ]);
        for (const a of r) used.add(a.address);
      } catch {}
    }),
  );
  return used;
}

async function checkExternals(ips: readonly string[]): Promise<void> {
  if (!ips.length) return;
  const used = await addressesInUse();
  for (const ip of ips) {
    if (used.has(ip)) {
      throw new Error(
        `stand-in ${ip} is an address this machine uses through its uplink (${UPLINK_NAMES.join(', ')} resolve to it): pick another 203.0.113.X`,
      );
    }
  }
}

/** Adds an external stand-in (203.0.113.X) to a running lab. */
export async function addExternal(ip: string): Promise<void> {
  const s = readState();
  if (!s.externals.includes(ip)) {
    externalSpec(ip, s.externals.length + 1);
    await checkExternals([ip]);
    s.externals.push(ip);
    writeState(s);
  }
  const k = s.externals.indexOf(ip) + 1;
  await run('ip', ['route', 'replace', 'unreachable', `${ip}/32`]);
  updateState((st) => {
    if (!st.hostRoutes.some((r) => r[1] === `${ip}/32`)) st.hostRoutes.push(['unreachable', `${ip}/32`]);
  });
  for (const i of s.nodes) await ensureNode(i, s.nodes, s.externals);
  await ensureExternal(ip, k, s.nodes);
}

// ---------------------------------------------------------------------------------------------------
// down

const STOP_ORDER = [
  'agent-',
  'kube-router-',
  'cilium-agent-',
  'external-',
  'kube-scheduler',
  'kube-controller-manager',
  'kube-apiserver',
  'etcd',
];

export async function down(): Promise<void> {
  t0 = Date.now();
  const s = readState();
  // Known processes in order (agents first so nothing reacts to the rest going away).
  const names = Object.keys(s.processes).sort(
    (a, b) => STOP_ORDER.findIndex((p) => a.startsWith(p)) - STOP_ORDER.findIndex((p) => b.startsWith(p)),
  );
  for (const name of names) {
    const rec = s.processes[name];
    if (rec && isAlive(rec)) {
      say(`stopping ${name}`);
      await stopProcess(rec, 3000);
    }
  }
  // Anything left (pods, a crashed run's processes): by command line or network namespace.
  for (let round = 0; round < 3; round++) {
    const left = findLabProcesses();
    if (!left.length) break;
    for (const p of left) say(`killing leftover pid ${p.pid} (${p.why}): ${p.cmdline.slice(0, 100)}`);
    await Promise.all(left.map((p) => stopProcess(p, round === 0 ? 2000 : 0)));
  }
  for (const ns of await netnsList()) {
    if (ns.startsWith('nalab-')) await run('ip', ['netns', 'del', ns], { check: false });
  }
  const links = await run('ip', ['-j', 'link', 'show'], { check: false });
  for (const l of links.stdout.trim() ? (JSON.parse(links.stdout) as { ifname: string }[]) : []) {
    if (l.ifname.startsWith('nalab') && l.ifname !== BRIDGE)
      await run('ip', ['link', 'del', l.ifname], { check: false });
  }
  if (await linkExists(BRIDGE)) await run('ip', ['link', 'del', BRIDGE]);
  const unreachable = JSON.parse(
    (await out('ip', ['-j', 'route', 'show', 'type', 'unreachable'])) || '[]',
  ) as {
    dst: string;
  }[];
  for (const r of unreachable) {
    if (/^(198\.1[89]\.|203\.0\.113\.)/.test(r.dst)) await run('ip', ['route', 'del', 'unreachable', r.dst]);
  }
  await removeCommentedRules(/nalab-/);
  await restoreHostSysctls(s.hostSysctls);
  // After every agent is gone: unmounting each node's bpffs frees its pinned programs and maps.
  await ciliumDown();
  // Everything under .lab but the logs.
  if (existsSync(LAB_DIR)) {
    for (const f of readdirSync(LAB_DIR))
      if (f !== 'logs') rmSync(resolve(LAB_DIR, f), { recursive: true, force: true });
  }
  say('lab down');
}

async function removeCommentedRules(re: RegExp, netns?: string): Promise<void> {
  const exec = (cmd: string, args: string[]) =>
    netns ? inNetns(netns, cmd, args, { check: false }) : run(cmd, args, { check: false });
  const dump = (await exec('iptables-save', [])).stdout;
  let table = 'filter';
  for (const line of dump.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith('-A ') && re.test(line)) {
      const args = splitRule(line.slice(3));
      await exec('iptables', ['-w', '-t', table, '-D', ...args]);
    }
  }
}

/** Splits an iptables-save rule line into argv (handles double-quoted comments). */
function splitRule(line: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    args.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : (m[2] ?? ''));
  return args;
}

/** What is left of the lab on this machine (empty when `down` did its job). */
export async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const ns of await netnsList()) if (ns.startsWith('nalab')) left.push(`netns ${ns}`);
  const links = await run('ip', ['-j', 'link', 'show'], { check: false });
  for (const l of links.stdout.trim() ? (JSON.parse(links.stdout) as { ifname: string }[]) : [])
    if (l.ifname.startsWith('nalab')) left.push(`link ${l.ifname}`);
  const routes = await out('ip', ['route', 'show', 'table', 'all']);
  for (const r of routes.split('\n'))
    if (/198\.1[89]\.|203\.0\.113\.|nalab/.test(r)) left.push(`route ${r.trim()}`);
  const rules = await out('iptables-save', []);
  for (const r of rules.split('\n'))
    if (/nalab|198\.1[89]\.|203\.0\.113\./.test(r)) left.push(`iptables ${r}`);
  const sets = await run('ipset', ['list', '-n'], { check: false });
  for (const n of sets.stdout.split('\n')) if (/^(KUBE-|kube-router|nalab)/.test(n)) left.push(`ipset ${n}`);
  for (const p of findLabProcesses()) left.push(`process ${p.pid} ${p.cmdline.slice(0, 120)}`);
  // `down` restored what it raised; a threshold still at exactly the lab's value was not put back.
  for (const [key, lab] of Object.entries(NEIGH_THRESHOLDS))
    if ((await out('sysctl', ['-n', key])).trim() === String(lab)) left.push(`sysctl ${key} = ${lab}`);
  left.push(...(await ciliumLeftovers()));
  return left;
}

// ---------------------------------------------------------------------------------------------------
// status

export async function status(): Promise<number> {
  const s = readState();
  const lines: string[] = [];
  let allUp = Object.keys(s.processes).length > 0;
  for (const [name, rec] of Object.entries(s.processes)) {
    const alive = isAlive(rec);
    const off = name.startsWith('kube-router-') && s.faults.enforcerOff.includes(name.slice(12));
    if (!alive && !off) allUp = false;
    lines.push(
      `${alive ? 'up  ' : off ? 'off ' : 'down'}  ${name.padEnd(36)} ${alive ? `pid ${rec.pid}` : off ? '(fault enforcer-off)' : ''}`,
    );
  }
  if (!lines.length) lines.push('down  (no lab: run scripts/lab up)');
  let nodesLine = '';
  if (allUp) {
    try {
      const ready = await readyNodes();
      nodesLine = s.nodes
        .map((i) => `${nodeSpec(i).name}=${ready.has(nodeSpec(i).name) ? 'Ready' : 'NotReady'}`)
        .join(' ');
    } catch (e) {
      nodesLine = `API not answering: ${(e as Error).message}`;
      allUp = false;
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (s.nodes.length) {
    process.stdout.write(
      `nodes     ${s.nodes.map((i) => `${nodeSpec(i).name} ${nodeSpec(i).ip} pods ${nodeSpec(i).podCidr}`).join('; ')}\n`,
    );
  }
  if (nodesLine) process.stdout.write(`ready     ${nodesLine}\n`);
  const enforcer = s.enforcer ?? 'kube-router';
  if (s.nodes.length) {
    const health: string[] = [];
    for (const i of s.nodes) {
      const n = nodeSpec(i);
      const off = s.faults.enforcerOff.includes(n.name) ? ' [fault enforcer-off]' : '';
      if (enforcer === 'cilium') {
        const h = await ciliumHealth(n.name);
        if (!h.ok) allUp = false;
        health.push(`${n.name} ${h.summary}${off}`);
      } else {
        const rec = s.processes[`kube-router-${n.name}`];
        health.push(`${n.name} kube-router ${isAlive(rec) ? 'running' : 'stopped'}${off}`);
      }
    }
    process.stdout.write(`enforcer  ${enforcer}: ${health.join('; ')}\n`);
  }
  if (s.externals.length)
    process.stdout.write(`externals ${s.externals.join(' ')} (ports ${EXTERNAL_PORTS.join(' ')})\n`);
  if (s.faults.enforcerOff.length)
    process.stdout.write(`fault     enforcer-off on ${s.faults.enforcerOff.join(' ')}\n`);
  for (const d of s.faults.drops) process.stdout.write(`fault     drop ${d.description}\n`);
  if (existsSync(KUBECONFIG)) process.stdout.write(`kubeconfig ${KUBECONFIG}\n`);
  return allUp ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------
// Faults

function nodesArg(node: string | undefined, s: LabState): number[] {
  if (!node) return s.nodes;
  const i = nodeIndexOf(node);
  if (i === undefined || !s.nodes.includes(i))
    throw new Error(`no lab node ${node} (nodes: ${s.nodes.map((x) => nodeSpec(x).name).join(', ')})`);
  return [i];
}

async function flushEnforcer(netns: string): Promise<void> {
  await inNetns(netns, 'iptables', ['-w', '-t', 'filter', '-F'], { check: false });
  await inNetns(netns, 'iptables', ['-w', '-t', 'filter', '-X'], { check: false });
  await inNetns(netns, 'ipset', ['flush'], { check: false });
  await inNetns(netns, 'ipset', ['destroy'], { check: false });
}

export async function enforcerOff(node?: string): Promise<void> {
  const s = readState();
  for (const i of nodesArg(node, s)) {
    const n = nodeSpec(i);
    // The agent must not hold new pods back waiting for rules that will never come.
    mkdirSync(resolve(NODES_DIR, n.name), { recursive: true });
    writeFileSync(resolve(NODES_DIR, n.name, 'enforcer-off'), `${new Date().toISOString()}\n`);
    updateState((st) => {
      if (!st.faults.enforcerOff.includes(n.name)) st.faults.enforcerOff.push(n.name);
    });
    if (s.enforcer === 'cilium') {
      // Stopping the agent would not stop enforcement (its programs stay attached, pinned): a broken
      // agent that lets everything through is one whose enforcement mode is `never`.
      await setPolicyEnforcement(n.name, 'never');
      say(`${n.name}: cilium-agent policy enforcement set to never`);
      continue;
    }
    const rec = s.processes[`kube-router-${n.name}`];
    if (rec) await stopProcess(rec, 3000);
    await flushEnforcer(n.netns);
    say(`${n.name}: kube-router stopped, its rules and ipsets flushed`);
  }
}

function hostIpToNode(hostIp: string | undefined): number | undefined {
  const m = /^198\.18\.0\.(\d+)$/.exec(hostIp ?? '');
  return m ? Number(m[1]) - 10 : undefined;
}

async function getPod(ref: string): Promise<PodLite> {
  const [ns, name] = ref.split('/');
  if (!ns || !name) throw new Error(`want NS/POD, got ${ref}`);
  return (await kubectlGetJson(`/api/v1/namespaces/${ns}/pods/${name}`)) as PodLite;
}

export async function drop(from: string, to: string, port: string): Promise<void> {
  const pm = /^(\d{1,5})(?:\/(TCP|UDP|SCTP))?$/i.exec(port);
  if (!pm) throw new Error(`--port wants PORT/PROTO, got ${port}`);
  const proto = (pm[2] ?? 'TCP').toLowerCase();
  const src = await getPod(from);
  const srcIp = src.status?.podIP;
  const node = hostIpToNode(src.status?.hostIP);
  if (!srcIp || node === undefined) throw new Error(`${from} has no pod IP / node yet`);
  let dstIp: string;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(to)) dstIp = to;
  else {
    const dst = await getPod(to);
    if (!dst.status?.podIP) throw new Error(`${to} has no pod IP yet`);
    dstIp = dst.status.podIP;
  }
  const n = nodeSpec(node);
  // raw PREROUTING of the source node's netns: before conntrack and before kube-router's filter rules,
  // so an ACCEPT there cannot win over it.
  const rule = ['-s', `${srcIp}/32`, '-d', `${dstIp}/32`, '-p', proto, '--dport', pm[1] ?? ''].concat([
    '-m',
    'comment',
    '--comment',
    'nalab-fault-drop',
    '-j',
    'DROP',
  ]);
  if (
    !(await inNetns(n.netns, 'iptables', ['-w', '-t', 'raw', '-C', 'PREROUTING', ...rule], { check: false }))
      .code
  )
    return;
  await inNetns(n.netns, 'iptables', ['-w', '-t', 'raw', '-I', 'PREROUTING', '1', ...rule]);
  const fault: DropFault = {
    netns: n.netns,
    table: 'raw',
    chain: 'PREROUTING',
    rule,
    description: `${from} (${srcIp}) -> ${to} (${dstIp}) ${pm[1]}/${proto.toUpperCase()} in ${n.netns} raw PREROUTING`,
  };
  updateState((s) => {
    s.faults.drops.push(fault);
  });
  say(`drop ${fault.description}`);
}

export async function clearFaults(): Promise<void> {
  const s = readState();
  for (const i of s.nodes) await removeCommentedRules(/nalab-fault/, nodeSpec(i).netns);
  const off = [...s.faults.enforcerOff];
  updateState((st) => {
    st.faults.drops = [];
  });
  if (s.enforcer === 'cilium') {
    for (const name of off) {
      rmSync(resolve(NODES_DIR, name, 'enforcer-off'), { force: true });
      // Waits until every endpoint of the node is regenerated with enforcement back on.
      await setPolicyEnforcement(name, 'default');
      updateState((st) => {
        st.faults.enforcerOff = st.faults.enforcerOff.filter((x) => x !== name);
      });
      say(`${name}: enforcement restored`);
    }
    return;
  }
  for (const name of off) {
    const i = nodeIndexOf(name);
    if (i === undefined) continue;
    rmSync(resolve(NODES_DIR, name, 'enforcer-off'), { force: true });
    ensureKubeRouter(i);
    updateState((st) => {
      st.faults.enforcerOff = st.faults.enforcerOff.filter((x) => x !== name);
    });
  }
  // Wait until the restarted enforcers have programmed every running pod on their node again.
  for (const name of off) {
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
    say(`${name}: enforcement restored`);
  }
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

// Re-exported for tests.
export { sleep };
