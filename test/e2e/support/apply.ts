// Applies manifests to the lab's API server with server-side apply (as `kubectl apply --server-side`),
// sending the objects exactly as written (no typed client that renames `from`).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { kubeRequest } from '../../../lab/lab.ts';

export interface ObjectHead {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const PLURAL: Record<string, string> = {
  Namespace: 'namespaces',
  Pod: 'pods',
  Service: 'services',
  ConfigMap: 'configmaps',
  ServiceAccount: 'serviceaccounts',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  NetworkPolicy: 'networkpolicies',
  ClusterNetworkPolicy: 'clusternetworkpolicies',
  PodDisruptionBudget: 'poddisruptionbudgets',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Lease: 'leases',
  CustomResourceDefinition: 'customresourcedefinitions',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
  ServiceMonitor: 'servicemonitors',
  PrometheusRule: 'prometheusrules',
};
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ClusterNetworkPolicy',
]);

export function objectPath(o: ObjectHead): string {
  const plural = PLURAL[o.kind];
  if (!plural) throw new Error(`apply: kind ${o.kind} is not supported by the e2e apply helper`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = CLUSTER_SCOPED.has(o.kind) ? '' : `/namespaces/${o.metadata.namespace ?? 'default'}`;
  return `${base}${ns}/${plural}/${o.metadata.name}`;
}

/** The lab's raw API request (admin credentials, body sent as written). */
export const request = kubeRequest;

export function objectsOf(text: string): ObjectHead[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as ObjectHead | null)
    .filter((o): o is ObjectHead => o !== null && typeof o === 'object' && 'kind' in o);
}

/** Server-side apply of every object in a YAML text; namespaces first. */
export async function applyText(text: string): Promise<ObjectHead[]> {
  const objects = objectsOf(text).sort(
    (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
  );
  for (const o of objects) {
    await request(
      'PATCH',
      `${objectPath(o)}?fieldManager=netaudit-e2e&force=true`,
      JSON.stringify(o),
      'application/apply-patch+yaml',
    );
  }
  return objects;
}

export function applyFile(file: string): Promise<ObjectHead[]> {
  return applyText(readFileSync(file, 'utf8'));
}

export async function deleteObject(o: ObjectHead): Promise<void> {
  try {
    await request('DELETE', objectPath(o));
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
  }
}

interface PodList {
  items: { metadata: { name: string; namespace: string }; status?: { phase?: string; podIP?: string } }[];
}

/**
 * Waits until every workload pod of the namespaces runs with an IP (Deployments' pods included).
 * netaudit's own probe pods (left by a killed earlier run, say) are not workloads: not waited for.
 */
export async function waitForPods(namespaces: readonly string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending: string[] = [];
  while (Date.now() < deadline) {
    pending = [];
    for (const ns of namespaces) {
      const list = (await request(
        'GET',
        `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent('!netaudit.io/probe')}`,
      )) as PodList;
      if (list.items.length === 0) pending.push(`${ns}/(no pods yet)`);
      for (const p of list.items) {
        if (p.status?.phase !== 'Running' || !p.status.podIP) pending.push(`${ns}/${p.metadata.name}`);
      }
    }
    if (pending.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`pods not running after ${timeoutMs} ms: ${pending.join(', ')}`);
}

export async function podIP(namespace: string, name: string): Promise<string | undefined> {
  try {
    const p = (await request('GET', `/api/v1/namespaces/${namespace}/pods/${name}`)) as {
      status?: { podIP?: string };
    };
    return p.status?.podIP;
  } catch {
    return undefined;
  }
}

/** Deletes namespaces and waits until they are gone. */
export async function deleteNamespaces(names: readonly string[], timeoutMs = 120_000): Promise<void> {
  for (const n of names) await deleteObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
  const deadline = Date.now() + timeoutMs;
  for (const n of names) {
    while (Date.now() < deadline) {
      try {
        await request('GET', `/api/v1/namespaces/${n}`);
      } catch (e) {
        if ((e as { code?: number }).code === 404) break;
        throw e;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

// `node test/e2e/support/apply.ts FILE [--wait NS,NS]`: the lab's kubectl-free apply, for scripts/demo.
if (import.meta.main) {
  const [file, flag, list] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: apply.ts FILE [--wait NS,NS,...]\n');
    process.exit(2);
  }
  const objects = await applyFile(file);
  process.stderr.write(`applied ${objects.length} objects from ${file}\n`);
  if (flag === '--wait' && list) await waitForPods(list.split(','));
}
