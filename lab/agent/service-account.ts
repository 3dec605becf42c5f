// What a kubelet gives a pod that mounts its ServiceAccount (the `kube-api-access-*` projected volume
// the ServiceAccount admission plugin injects): a bound token from the TokenRequest API, the cluster
// CA and the namespace as files, refreshed before the token expires, plus the API server's address in
// KUBERNETES_SERVICE_HOST/PORT. The lab has no Service proxy, so the address is the API server's own
// (what in-cluster config then dials), not the `kubernetes` Service's cluster IP.
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { API_PORT, HOST_IP, PKI_DIR } from '../config.ts';

/** Where in-cluster clients look for the ServiceAccount's files. */
export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ServiceAccountMount {
  readonly serviceAccount: string;
  readonly mountPath: string;
  readonly expirationSeconds: number;
  readonly audience: string | undefined;
}

/** The projected token volume the pod's containers mount, if any. */
export function serviceAccountMount(pod: k8s.V1Pod): ServiceAccountMount | undefined {
  for (const v of pod.spec?.volumes ?? []) {
    const token = v.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
    if (!token) continue;
    const mount = pod.spec?.containers.flatMap((c) => c.volumeMounts ?? []).find((m) => m.name === v.name);
    if (!mount) continue;
    return {
      serviceAccount: pod.spec?.serviceAccountName || 'default',
      mountPath: mount.mountPath,
      expirationSeconds: token.expirationSeconds ?? 3607,
      audience: token.audience || undefined,
    };
  }
  return undefined;
}

/** The environment a kubelet sets so that in-cluster config finds the API server. */
export const apiServerEnv = (): Record<string, string> => ({
  KUBERNETES_SERVICE_HOST: HOST_IP,
  KUBERNETES_SERVICE_PORT: String(API_PORT),
  KUBERNETES_SERVICE_PORT_HTTPS: String(API_PORT),
});

function writeAtomic(file: string, data: string, owner: { uid: number; gid: number } | undefined): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, file);
}

/**
 * Writes token, ca.crt and namespace into `dir` (bind-mounted at the mount path by pod-exec.sh) and
 * keeps the token fresh at 80% of its lifetime, as the kubelet does, until `alive()` says the pod is gone.
 */
export async function provideServiceAccount(
  core: k8s.CoreV1Api,
  pod: k8s.V1Pod,
  mount: ServiceAccountMount,
  dir: string,
  alive: () => boolean,
  onError: (e: unknown) => void,
): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const uid = pod.spec?.containers[0]?.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  const gid =
    pod.spec?.securityContext?.fsGroup ??
    pod.spec?.containers[0]?.securityContext?.runAsGroup ??
    pod.spec?.securityContext?.runAsGroup;
  const owner = uid === undefined ? undefined : { uid, gid: gid ?? 0 };
  const namespace = pod.metadata?.namespace ?? '';
  writeAtomic(resolve(dir, 'ca.crt'), readFileSync(resolve(PKI_DIR, 'ca.crt'), 'utf8'), owner);
  writeAtomic(resolve(dir, 'namespace'), namespace, owner);
  const refresh = async (): Promise<number> => {
    const tr = await core.createNamespacedServiceAccountToken({
      name: mount.serviceAccount,
      namespace,
      body: {
        spec: {
          audiences: mount.audience ? [mount.audience] : [],
          expirationSeconds: mount.expirationSeconds,
          boundObjectRef: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata?.name ?? '',
            uid: pod.metadata?.uid ?? '',
          },
        },
      },
    });
    writeAtomic(resolve(dir, 'token'), tr.status?.token ?? '', owner);
    const expires = tr.status?.expirationTimestamp ? new Date(tr.status.expirationTimestamp).getTime() : 0;
    return Math.max(60_000, (expires - Date.now()) * 0.8);
  };
  let next = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      next = await refresh();
      break;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, attempt * 500));
    }
  }
  const schedule = (ms: number): void => {
    setTimeout(() => {
      if (!alive() || !existsSync(dir)) return;
      refresh().then(schedule, (e: unknown) => {
        onError(e);
        schedule(10_000);
      });
    }, ms).unref();
  };
  schedule(next);
}
