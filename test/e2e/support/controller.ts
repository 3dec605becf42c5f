// Runs `netaudit controller` in the lab as its Deployment would: under the ServiceAccount and RBAC of
// manifests/base (a token from the TokenRequest API, not the admin kubeconfig).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { API_SERVER, PKI_DIR, REPO } from '../../lab/config.ts';
import { LAB_IMAGE } from '../../lab/image.ts';
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
  const dir = mkdtempSync(join(tmpdir(), 'netaudit-sa-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: lab, cluster: { server: "${API_SERVER}", certificate-authority-data: "${ca}" } }]
users: [{ name: netaudit, user: { token: "${token}" } }]
contexts: [{ name: netaudit, context: { cluster: lab, user: netaudit, namespace: netaudit } }]
current-context: netaudit
`,
  );
  return file;
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
      LAB_IMAGE,
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
}

export async function netauditEvents(): Promise<EventItem[]> {
  const list = (await request('GET', '/apis/events.k8s.io/v1/events')) as {
    items: (EventItem & { reportingController?: string })[];
  };
  return list.items.filter((e) => e.reportingController === 'netaudit.io/controller');
}
