/** The lab's CA, serving and client certificates, and kubeconfigs (openssl; EC P-256 keys are fast to make). */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { API_SERVER, HOST_IP, KUBECONFIG, LAB_DIR, nodeSpec, PKI_DIR } from '../config.ts';
import { run } from '../sh.ts';

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

export const kubeconfigFor = (component: string) => resolve(LAB_DIR, `${component}.kubeconfig`);

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
