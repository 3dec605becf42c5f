// Runs `netaudit controller` in the lab as its Deployment would: under the ServiceAccount and RBAC of
// manifests/base (a token from the TokenRequest API, not the admin kubeconfig).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { API_SERVER, PKI_DIR, REPO } from '../../lab/config.ts';
import { LAB_IMAGE } from '../../lab/image.ts';
import { labCommand } from '../../lab/lab.ts';
import { waitFor } from '../../lab/sh.ts';
import { writeTokenKubeconfig } from '../../support/kubeconfig.ts';
import { applyFile, request } from './apply.ts';

const MANIFESTS = resolve(REPO, 'manifests/base');

/** Applies the namespace, ServiceAccount and RBAC of manifests/base (not the Deployment). */
export async function applyRbac(): Promise<void> {
  for (const f of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) await applyFile(join(MANIFESTS, f));
}

/** A short-lived token of the netaudit ServiceAccount (TokenRequest API). */
export async function serviceAccountToken(): Promise<string> {
  const tr = (await request(
    'POST',
    '/api/v1/namespaces/netaudit/serviceaccounts/netaudit/token',
    JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 7200 },
    }),
  )) as { status: { token: string } };
  return tr.status.token;
}

/** A kubeconfig holding a short-lived token of the netaudit ServiceAccount. */
export async function serviceAccountKubeconfig(): Promise<string> {
  const token = await serviceAccountToken();
  const ca = readFileSync(resolve(PKI_DIR, 'ca.crt')).toString('base64');
  return writeTokenKubeconfig({ cluster: 'lab', server: API_SERVER, caData: ca, token });
}

export interface RunningController {
  readonly child: ChildProcess;
  readonly port: number;
  readonly log: () => string;
  metrics(): Promise<string>;
  ready(): Promise<{ status: number; body: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let nextPort = 19190;

export function startController(
  kubeconfig: string,
  args: readonly string[],
  name = 'netaudit-e2e-0',
  image = LAB_IMAGE,
): RunningController {
  const port = nextPort++;
  let log = '';
  const child = spawn(
    resolve(REPO, 'bin/netaudit'),
    [
      'controller',
      '--kubeconfig',
      kubeconfig,
      '--listen',
      `127.0.0.1:${port}`,
      '--image',
      image,
      '--profile',
      'kube-router',
      '--timeout',
      '3s',
      ...args,
    ],
    {
      env: { ...process.env, POD_NAME: name, POD_NAMESPACE: 'netaudit', NETAUDIT_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: r.status, body: await r.text() };
    } catch {
      return { status: 0, body: '' };
    }
  };
  return {
    child,
    port,
    log: () => log,
    metrics: async () => (await get('/metrics')).body,
    ready: () => get('/readyz'),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** The value of one series, or undefined. `netaudit_audit_rounds_total{outcome="completed"}` */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface EventItem {
  reason: string;
  type: string;
  note: string;
  regarding: { kind: string; namespace?: string; name: string };
  series?: { count: number };
  eventTime?: string;
}

export async function netauditEvents(): Promise<EventItem[]> {
  const list = (await request('GET', '/apis/events.k8s.io/v1/events')) as {
    items: (EventItem & { reportingController?: string })[];
  };
  return list.items.filter((e) => e.reportingController === 'netaudit.io/controller');
}

/**
 * Turns enforcement off on a node and waits until the controller reports it: the unexpected-allow
 * gauge above 0 (`metrics` reads the reporting replica), then a ConnectivityMismatch Event naming the
 * node (the round writes its Events after the gauge). The fault is cleared whatever happens, and the
 * gauge awaited back at 0; a node left unenforced would fail every later test.
 */
export async function catchEnforcerOff(
  metrics: () => Promise<string>,
  o: { readonly node: string; readonly timeoutMs: number; readonly pollMs?: number },
): Promise<{ detectedMs: number; event: EventItem }> {
  await labCommand(['fault', 'enforcer-off', '--node', o.node]);
  const since = Date.now();
  let caught: { detectedMs: number; event: EventItem };
  try {
    await waitFor(
      'unexpected-allow > 0',
      async () => sumMetric(await metrics(), 'netaudit_mismatches', { kind: 'unexpected-allow' }) > 0,
      o.timeoutMs,
      o.pollMs ?? 500,
    );
    const detectedMs = Date.now() - since;
    const event = await waitFor(
      `a ConnectivityMismatch event naming ${o.node}`,
      async () =>
        (await netauditEvents()).find((e) => e.reason === 'ConnectivityMismatch' && e.note.includes(o.node)),
      30_000,
      1000,
    );
    caught = { detectedMs, event };
  } finally {
    await labCommand(['fault', 'clear']);
  }
  await waitFor(
    'netaudit_mismatches back to 0',
    async () => sumMetric(await metrics(), 'netaudit_mismatches') === 0,
    180_000,
    1000,
  );
  return caught;
}
