// The ClusterNetworkPolicy CRD in the lab: network-policy-api v0.2.0's, as the Cilium lab's `up`
// applies it (from its build cache) or, in a kube-router lab, from the Go module.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CILIUM_CACHE } from '../../../lab/config.ts';
import { waitFor } from '../../../lab/sh.ts';
import { request } from './apply.ts';

export const CNP_FIXTURE = new URL('../../fixtures/lab/cluster-network-policy.yaml', import.meta.url)
  .pathname;
export const CNP_NAMESPACES = ['cnp-red', 'cnp-blue', 'cnp-mon'];
const CRD_NAME = 'clusternetworkpolicies.policy.networking.k8s.io';
const CRD_FILE = 'policy.networking.k8s.io_clusternetworkpolicies.yaml';

function crdText(): string {
  const cached = resolve(CILIUM_CACHE, 'crds', 'network-policy-api', CRD_FILE);
  if (existsSync(cached)) return readFileSync(cached, 'utf8');
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', 'sigs.k8s.io/network-policy-api@v0.2.0'], {
      encoding: 'utf8',
      cwd: '/tmp',
    }),
  ) as { Dir: string };
  return readFileSync(resolve(info.Dir, 'config', 'crd', 'standard', CRD_FILE), 'utf8');
}

/** Applies the CRD (server-side) and waits until it is Established. */
export async function ensureClusterPolicyCrd(): Promise<void> {
  await request(
    'PATCH',
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}?fieldManager=netaudit-e2e&force=true`,
    crdText(),
    'application/apply-patch+yaml',
  );
  await waitFor(
    'the ClusterNetworkPolicy CRD Established',
    async () => {
      const c = (await request(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
      )) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')
        ? true
        : undefined;
    },
    60_000,
  );
}
