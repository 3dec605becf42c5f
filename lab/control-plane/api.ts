/** The few API reads lab commands make as the lab's admin (no client library: plain HTTPS). */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { resolve } from 'node:path';
import { API_SERVER, PKI_DIR } from '../config.ts';

export async function kubectlGetJson(path: string): Promise<unknown> {
  const ca = readFileSync(resolve(PKI_DIR, 'ca.crt'));
  const cert = readFileSync(resolve(PKI_DIR, 'admin.crt'));
  const key = readFileSync(resolve(PKI_DIR, 'admin.key'));
  return new Promise((resolveGet, reject) => {
    const req = https.get(`${API_SERVER}${path}`, { ca, cert, key, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300)
          reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`));
        else resolveGet(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface NodeLite {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}
export interface PodLite {
  metadata: { name: string; namespace: string };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; hostIP?: string };
}

export async function readyNodes(): Promise<Set<string>> {
  const list = (await kubectlGetJson('/api/v1/nodes')) as { items: NodeLite[] };
  return new Set(
    list.items
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name),
  );
}
