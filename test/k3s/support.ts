// k3s for netaudit's tests on machines with Docker: a k3s container (kube-router's NetworkPolicy
// controller is built in), the netaudit image built from the Dockerfile and imported into k3s's
// containerd, and a raw API client (objects sent as written: the typed client renames `from`).
// Not run on the project's build machines (no container engine); see README "k3s suite".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { parse } from 'yaml';
import { objectPath, objectsOf } from '../e2e/support/apply.ts';
import { type RunningController, startController as startE2eController } from '../e2e/support/controller.ts';
import { netaudit as e2eNetaudit, type Run } from '../e2e/support/netaudit.ts';
import { writeTokenKubeconfig } from '../support/kubeconfig.ts';

export type { RunningController };

export const REPO = resolve(import.meta.dirname, '../..');
/** Pinned: kube-router's enforcement and the API versions move with k3s releases. */
export const K3S_IMAGE = process.env.NETAUDIT_K3S_IMAGE ?? 'rancher/k3s:v1.33.5-k3s1';
export const IMAGE = 'ghcr.io/netaudit/netaudit:dev';

export interface K3s {
  readonly container: StartedK3sContainer;
  readonly kubeconfig: string;
  request<T = unknown>(method: string, path: string, body?: string, contentType?: string): Promise<T>;
  stop(): Promise<void>;
}

interface KubeconfigFile {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}

function docker(args: readonly string[]): void {
  const r = spawnSync('docker', args, { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status ?? r.signal}`);
}

/** Starts k3s, builds the image from the checkout's Dockerfile and imports it into k3s's containerd. */
export async function startK3s(): Promise<K3s> {
  docker(['build', '-t', IMAGE, REPO]);
  const dir = mkdtempSync(join(tmpdir(), 'netaudit-k3s-'));
  const tar = join(dir, 'netaudit.tar');
  docker(['save', '-o', tar, IMAGE]);
  const container = await new K3sContainer(K3S_IMAGE).start();
  await container.copyFilesToContainer([{ source: tar, target: '/tmp/netaudit.tar' }]);
  const imported = await container.exec(['k3s', 'ctr', 'images', 'import', '/tmp/netaudit.tar']);
  if (imported.exitCode !== 0) throw new Error(`k3s ctr images import: ${imported.output}`);
  const text = container.getKubeConfig();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, text);
  const kc = parse(text) as KubeconfigFile;
  const cluster = kc.clusters[0]?.cluster;
  const user = kc.users[0]?.user;
  if (!cluster || !user?.['client-certificate-data'] || !user['client-key-data']) {
    throw new Error('k3s kubeconfig without a client certificate');
  }
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const tls = {
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
  const request = <T>(method: string, path: string, body?: string, contentType = 'application/json') =>
    new Promise<T>((ok, fail) => {
      const req = https.request(
        `${cluster.server}${path}`,
        {
          method,
          ...tls,
          headers: body === undefined ? {} : { 'content-type': contentType },
          timeout: 15_000,
          agent: false,
        },
        (res) => {
          let out = '';
          res.on('data', (c: Buffer) => {
            out += c.toString();
          });
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            if (code >= 300)
              fail(Object.assign(new Error(`${method} ${path}: ${code} ${out.slice(0, 400)}`), { code }));
            else ok((out ? JSON.parse(out) : undefined) as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', fail);
      req.end(body);
    });
  return {
    container,
    kubeconfig,
    request,
    stop: async () => {
      await container.stop();
    },
  };
}

/** Server-side apply of a YAML text, namespaces first; `ghcr.io/netaudit/netaudit:dev` becomes `image`. */
export async function apply(k3s: K3s, text: string, image = IMAGE): Promise<void> {
  const objects = objectsOf(text.replaceAll('ghcr.io/netaudit/netaudit:dev', image)).sort(
    (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
  );
  for (const o of objects) {
    await k3s.request(
      'PATCH',
      `${objectPath(o)}?fieldManager=netaudit-k3s&force=true`,
      JSON.stringify(o),
      'application/apply-patch+yaml',
    );
  }
}

export function applyFile(k3s: K3s, file: string): Promise<void> {
  return apply(k3s, readFileSync(file, 'utf8'));
}

/** Waits until every pod of the namespaces runs with an IP. */
export async function waitForPods(
  k3s: K3s,
  namespaces: readonly string[],
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending: string[] = [];
  while (Date.now() < deadline) {
    pending = [];
    for (const ns of namespaces) {
      const list = await k3s.request<{
        items: { metadata: { name: string }; status?: { phase?: string; podIP?: string } }[];
      }>('GET', `/api/v1/namespaces/${ns}/pods`);
      if (list.items.length === 0) pending.push(`${ns}/(no pods yet)`);
      for (const p of list.items) {
        if (p.status?.phase !== 'Running' || !p.status.podIP) pending.push(`${ns}/${p.metadata.name}`);
      }
    }
    if (pending.length === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`pods not running after ${timeoutMs} ms: ${pending.join(', ')}`);
}

/** bin/netaudit against k3s (a child process, not a TTY). */
export function netaudit(k3s: K3s, args: readonly string[], timeoutMs = 600_000): Promise<Run> {
  return e2eNetaudit(args, timeoutMs, { kubeconfig: k3s.kubeconfig, image: IMAGE });
}

/** A kubeconfig holding a token of the netaudit ServiceAccount (manifests/base RBAC), for k3s. */
export async function serviceAccountKubeconfig(k3s: K3s): Promise<string> {
  const tr = await k3s.request<{ status: { token: string } }>(
    'POST',
    '/api/v1/namespaces/netaudit/serviceaccounts/netaudit/token',
    JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 7200 },
    }),
  );
  const admin = parse(readFileSync(k3s.kubeconfig, 'utf8')) as KubeconfigFile;
  const cluster = admin.clusters[0]?.cluster;
  if (!cluster) throw new Error('k3s kubeconfig without a cluster');
  return writeTokenKubeconfig({
    cluster: 'k3s',
    server: cluster.server,
    caData: cluster['certificate-authority-data'],
    token: tr.status.token,
  });
}

/** `netaudit controller` on the host, as its Deployment would run it (ServiceAccount kubeconfig). */
export function startController(kubeconfig: string, args: readonly string[]): RunningController {
  return startE2eController(kubeconfig, args, 'netaudit-k3s-0', IMAGE);
}
