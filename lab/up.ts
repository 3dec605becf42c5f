/** `up` (idempotent: starts what is missing, in order) and `external add`. */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AGENT,
  BRIDGE,
  COMPILE_CACHE,
  DEFAULT_EXTERNALS,
  type Enforcer,
  externalSpec,
  IMAGE_UID,
  KUBECONFIG,
  LOG_DIR,
  NETAUDIT_BIN,
  NODE_BIN,
  nodeSpec,
  REPO,
} from './config.ts';
import { readyNodes } from './control-plane/api.ts';
import { ensureControlPlane } from './control-plane/control-plane.ts';
import { ensurePki, kubeconfigFor } from './control-plane/pki.ts';
import { ciliumPreconditions, recordHostSysctls } from './enforcer/cilium.ts';
import { ensureCiliumAgents } from './enforcer/cilium-agents.ts';
import { startKubeRouters } from './enforcer/kube-router.ts';
import { checkExternals, ensureNeighbourTable, ensureSafety } from './host-safety.ts';
import { ensureProcess, isAlive } from './procs.ts';
import { restartClock, say } from './progress.ts';
import { run, waitFor } from './sh.ts';
import { readState, updateState, writeState } from './state.ts';
import { ensureBridge, ensureExternal, ensureNode } from './topology.ts';

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

/**
 * The image's compile cache, made as the image makes it: by its user, running the probe agent once.
 * Sticky and open to every uid, as /tmp is: a pod of another user keeps its own subdirectory there.
 */
async function ensureCompileCache(): Promise<void> {
  mkdirSync(COMPILE_CACHE, { recursive: true });
  chmodSync(COMPILE_CACHE, 0o1777);
  const id = String(IMAGE_UID);
  await run('setpriv', ['--reuid', id, '--regid', id, '--clear-groups', NETAUDIT_BIN, 'agent', '--help'], {
    env: { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE },
    timeoutMs: 60_000,
  });
}

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
  restartClock();
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
  say('compile cache of the netaudit image');
  await ensureCompileCache();
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
  await startKubeRouters(routers);
  say(`external stand-ins ${externals.join(' ')}`);
  for (const [k, ip] of externals.entries()) await ensureExternal(ip, k + 1, nodes);
  const ms = Date.now() - start;
  updateState((s) => {
    s.timings.lastUpMs = ms;
  });
  say(`lab up in ${(ms / 1000).toFixed(1)}s; kubeconfig ${KUBECONFIG}`);
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
