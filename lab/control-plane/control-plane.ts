/** etcd, kube-apiserver, kube-controller-manager and kube-scheduler: started, and waited for. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { resolve } from 'node:path';
import {
  API_PORT,
  API_SERVER,
  AUDIT_LOG,
  AUDIT_POLICY,
  ETCD_CLIENT,
  ETCD_PEER,
  HOST_IP,
  K8S_BIN,
  LAB_DIR,
  PKI_DIR,
  SERVICE_CIDR,
} from '../config.ts';
import { ensureProcess, requireBinary } from '../procs.ts';
import { say } from '../progress.ts';
import { waitFor } from '../sh.ts';
import { kubeconfigFor } from './pki.ts';

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

export async function ensureControlPlane(): Promise<void> {
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
