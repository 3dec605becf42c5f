/**
 * Helpers for tests that run on the lab (test/e2e/**): bring the lab up, talk to its API server,
 * make pods, and run commands or probes inside a pod's network namespace.
 *
 *   import { ensureLabUp, kubeConfig, runInPod, probe } from '../../../lab/lab.ts';
 *   await ensureLabUp();                       // idempotent; fast when up; throws if it cannot come up
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  API_SERVER,
  ENFORCERS,
  type Enforcer,
  EXTERNAL_PORTS,
  KUBECONFIG,
  NETTOOL,
  NODE_BIN,
  nodeSpec,
  PKI_DIR,
  podNetns,
  REPO,
} from './config.ts';
import { LAB_IMAGE, LAB_TOOL_IMAGE } from './image.ts';
import type { ProbeOutcome } from './nettool.ts';
import { isAlive } from './procs.ts';
import { type RunResult, run, sleep, waitFor } from './sh.ts';
import { readState } from './state.ts';

export type { ProbeOutcome };
export { LAB_IMAGE, LAB_TOOL_IMAGE };
export const kubeconfigPath = KUBECONFIG;
export const SCRIPT = resolve(REPO, 'scripts/lab');

/** Runs `scripts/lab ARGS` (stderr passed through). Throws on a non-zero exit. */
export async function labCommand(args: readonly string[], timeoutMs = 900_000): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(SCRIPT, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env } });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const r = { code: code ?? 1, stdout, stderr: '' };
      if (r.code !== 0) reject(new Error(`scripts/lab ${args.join(' ')} exited ${r.code}\n${stdout}`));
      else resolveRun(r);
    });
  });
}

/** True when every lab process runs (no API round trip). */
export function labLooksUp(): boolean {
  const s = readState();
  const procs = Object.entries(s.processes);
  if (!procs.length || !existsSync(KUBECONFIG)) return false;
  return procs.every(
    ([name, rec]) =>
      isAlive(rec) || (name.startsWith('kube-router-') && s.faults.enforcerOff.includes(name.slice(12))),
  );
}

/**
 * The enforcer tests run against: the running lab's; with no lab, NALAB_ENFORCER (default kube-router).
 * Tests that meet a legitimate difference between enforcers branch on it, never loosen an assertion.
 */
export function labEnforcer(): Enforcer {
  const s = readState();
  if (s.enforcer && Object.values(s.processes).some((p) => isAlive(p))) return s.enforcer;
  const env = process.env.NALAB_ENFORCER;
  const e = ENFORCERS.find((x) => x === env);
  if (env !== undefined && !e) throw new Error(`NALAB_ENFORCER wants ${ENFORCERS.join(' or ')}, got ${env}`);
  return e ?? 'kube-router';
}

/**
 * Brings the lab up (idempotent) with no faults left over from an earlier test. Fails loudly (throws)
 * when the lab cannot come up: a lab test must never silently skip.
 */
export async function ensureLabUp(opts: { nodes?: number } = {}): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, iptables)');
  const s = readState();
  const enoughNodes = s.nodes.length >= (opts.nodes ?? 2);
  if (!labLooksUp() || !enoughNodes) {
    const enforcer = labEnforcer();
    await labCommand(['up', '--enforcer', enforcer, ...(opts.nodes ? ['--nodes', String(opts.nodes)] : [])]);
  }
  const after = readState();
  if (after.faults.enforcerOff.length || after.faults.drops.length) await labCommand(['fault', 'clear']);
}

let cachedKc: k8s.KubeConfig | undefined;
export function kubeConfig(): k8s.KubeConfig {
  if (!cachedKc) {
    cachedKc = new k8s.KubeConfig();
    cachedKc.loadFromFile(KUBECONFIG);
  }
  return cachedKc;
}
export const coreApi = () => kubeConfig().makeApiClient(k8s.CoreV1Api);

/**
 * A raw API request with the admin credentials: the body is sent exactly as given (an object as JSON,
 * a string as is, with `contentType`). Use it for objects written as in manifests: @kubernetes/client-node's
 * typed serializer silently drops fields whose TypeScript name differs from the JSON name
 * (NetworkPolicy `from` is `_from` there).
 */
export function kubeRequest<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  /** A bearer token to act as (a ServiceAccount) instead of the lab's admin. */
  token?: string,
): Promise<T> {
  const pki = (f: string) => readFileSync(resolve(PKI_DIR, f));
  const auth = token
    ? { headers: { authorization: `Bearer ${token}` } }
    : { cert: pki('admin.crt'), key: pki('admin.key'), headers: {} };
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolveReq, reject) => {
    const req = https.request(
      `${API_SERVER}${path}`,
      {
        method,
        ca: pki('ca.crt'),
        ...auth,
        headers: data === undefined ? auth.headers : { ...auth.headers, 'content-type': contentType },
        timeout: 15_000,
        // A fresh connection per request: a kept-alive socket the API server closed meanwhile fails
        // the next write with EPIPE.
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 300)
            reject(Object.assign(new Error(`${method} ${path}: ${code} ${text.slice(0, 400)}`), { code }));
          else resolveReq((text ? JSON.parse(text) : undefined) as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Creates a NetworkPolicy written as in a manifest (plain JSON: `from`, `to`, ...). */
export function createNetworkPolicy(namespace: string, policy: unknown): Promise<unknown> {
  return kubeRequest('POST', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`, policy);
}

export function deleteNetworkPolicy(namespace: string, name: string): Promise<unknown> {
  return kubeRequest('DELETE', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/${name}`);
}
export const netApi = () => kubeConfig().makeApiClient(k8s.NetworkingV1Api);

/** The lab's nodes, e.g. ['nalab-node-1', 'nalab-node-2']. */
export function labNodes(): string[] {
  return readState().nodes.map((i) => nodeSpec(i).name);
}

/** The external stand-ins (203.0.113.X), each listening on EXTERNAL_PORTS. */
export function labExternals(): { ips: string[]; ports: string[] } {
  return { ips: readState().externals, ports: EXTERNAL_PORTS };
}

export function apiCode(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'number') return e.code;
  return undefined;
}

/** Creates a namespace and waits for its default ServiceAccount (pods need it to be admitted). */
export async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  const core = coreApi();
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await waitFor(
    `ServiceAccount ${name}/default`,
    async () => {
      try {
        return Boolean(await core.readNamespacedServiceAccount({ name: 'default', namespace: name }));
      } catch (e) {
        if (apiCode(e) === 404) return false;
        throw e;
      }
    },
    30_000,
    50,
  );
}

/** Deletes namespaces and waits until they are gone (the node agents finalise their pods). */
export async function deleteNamespaces(names: readonly string[], timeoutMs = 60_000): Promise<void> {
  const core = coreApi();
  for (const name of names) {
    try {
      await core.deleteNamespace({ name });
    } catch (e) {
      if (apiCode(e) !== 404) throw e;
    }
  }
  for (const name of names) {
    await waitFor(
      `namespace ${name} to be deleted`,
      async () => {
        try {
          await core.readNamespace({ name });
          return false;
        } catch (e) {
          return apiCode(e) === 404;
        }
      },
      timeoutMs,
      200,
    );
  }
}

export interface ServerPodOptions {
  readonly labels?: Record<string, string>;
  /** Pin the pod to a node (nodeName: no scheduler involved). */
  readonly node?: string;
  /** Ports to listen on, e.g. ['80/TCP', '81/TCP', '80/UDP']. */
  readonly ports?: readonly string[];
  /**
   * 'netaudit' (default): `netaudit agent serve` in the lab image (the local build); 'tool': the lab's
   * own nettool. NALAB_SERVER=tool switches the default, to check the lab without netaudit's code.
   */
  readonly server?: 'tool' | 'netaudit';
}

/** A pod that listens on TCP ports and echoes UDP: the target (and source) of the lab's own checks. */
export function serverPod(name: string, opts: ServerPodOptions = {}): k8s.V1Pod {
  const ports = opts.ports ?? ['80/TCP', '81/TCP', '80/UDP'];
  const server = opts.server ?? (process.env.NALAB_SERVER === 'tool' ? 'tool' : 'netaudit');
  const portArgs = ports.flatMap((p) => ['--port', p]);
  const container: k8s.V1Container =
    server === 'netaudit'
      ? { name: 'server', image: LAB_IMAGE, command: ['netaudit', 'agent', 'serve', ...portArgs] }
      : { name: 'server', image: LAB_TOOL_IMAGE, command: ['nettool', 'serve', ...portArgs] };
  container.ports = ports.map((p) => {
    const [port, proto] = p.split('/');
    return { containerPort: Number(port), protocol: proto ?? 'TCP' };
  });
  return {
    metadata: { name, labels: { ...(opts.labels ?? {}) } },
    spec: {
      ...(opts.node ? { nodeName: opts.node } : {}),
      containers: [container],
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
    },
  };
}

export async function createPod(namespace: string, pod: k8s.V1Pod): Promise<k8s.V1Pod> {
  return coreApi().createNamespacedPod({ namespace, body: pod });
}

/** Waiting reasons the lab's node agent gives a container it will never start. */
const NEVER_STARTS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'RunContainerError',
  'CreateContainerConfigError',
]);

/** Waits until the pod is Running with an IP (its rules are programmed by then: the agent waits). */
export async function waitPodRunning(
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<k8s.V1Pod> {
  const core = coreApi();
  return waitFor(
    `pod ${namespace}/${name} Running`,
    async () => {
      const p = await core.readNamespacedPod({ name, namespace });
      const phase = p.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') {
        throw new Error(
          `pod ${namespace}/${name} is ${phase}: ${JSON.stringify(p.status?.containerStatuses)}`,
        );
      }
      // What the lab never gets past (an image or command it cannot run): fail now, not at the timeout.
      const stuck = p.status?.containerStatuses?.find((c) =>
        NEVER_STARTS.has(c.state?.waiting?.reason ?? ''),
      );
      if (stuck) {
        throw new Error(
          `pod ${namespace}/${name} cannot start: ${stuck.state?.waiting?.reason}: ${stuck.state?.waiting?.message}`,
        );
      }
      return phase === 'Running' && p.status?.podIP ? p : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Creates pods and waits until all run; returns them by name. */
export async function startPods(
  namespace: string,
  pods: readonly k8s.V1Pod[],
): Promise<Map<string, k8s.V1Pod>> {
  for (const p of pods) await createPod(namespace, p);
  const m = new Map<string, k8s.V1Pod>();
  for (const p of pods) {
    const name = p.metadata?.name ?? '';
    m.set(name, await waitPodRunning(namespace, name));
  }
  return m;
}

/** The pod's IP and network namespace. */
export async function podNet(
  namespace: string,
  name: string,
): Promise<{ ip: string; netns: string; node: string }> {
  const p = await coreApi().readNamespacedPod({ name, namespace });
  const ip = p.status?.podIP;
  if (!ip) throw new Error(`pod ${namespace}/${name} has no IP`);
  const node = p.spec?.nodeName ?? '';
  return { ip, netns: p.spec?.hostNetwork ? node : podNetns(ip), node };
}

/** Runs argv inside the pod's network namespace (as root, host filesystem): `ip netns exec`. */
export async function runInPod(namespace: string, pod: string, argv: readonly string[]): Promise<RunResult> {
  const { netns } = await podNet(namespace, pod);
  return run('ip', ['netns', 'exec', netns, ...argv], { check: false, timeoutMs: 60_000 });
}

/** Probes targets (`tcp:IP:PORT`, `udp:IP:PORT`) from inside a pod with the lab's own tool. */
export async function probe(
  namespace: string,
  pod: string,
  targets: readonly string[],
  timeoutMs = 1000,
): Promise<ProbeOutcome[]> {
  const r = await runInPod(namespace, pod, [
    NODE_BIN,
    '--disable-warning=ExperimentalWarning',
    NETTOOL,
    'probe',
    '--timeout',
    String(timeoutMs),
    ...targets,
  ]);
  if (r.code !== 0) throw new Error(`nettool probe in ${namespace}/${pod} failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ProbeOutcome);
}

/** Probes until every target's outcome is `connected` (want=true) or not (want=false), or the deadline. */
export async function expectReach(
  namespace: string,
  pod: string,
  targets: readonly string[],
  want: boolean,
  deadlineMs = 20_000,
): Promise<ProbeOutcome[]> {
  const deadline = Date.now() + deadlineMs;
  let last: ProbeOutcome[] = [];
  for (;;) {
    last = await probe(namespace, pod, targets, want ? 1000 : 700);
    if (last.every((o) => (o.result === 'connected') === want)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `${namespace}/${pod}: expected ${want ? 'connected' : 'blocked'} for all of ${targets.join(' ')}; got ${JSON.stringify(last)}`,
      );
    }
    await sleep(300);
  }
}

export { sleep, waitFor };
