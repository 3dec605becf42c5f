// A kubeconfig file for a bearer token (a ServiceAccount's), as netaudit's Deployment would see it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function writeTokenKubeconfig(o: {
  readonly cluster: string;
  readonly server: string;
  /** base64 of the CA bundle */
  readonly caData: string;
  readonly token: string;
}): string {
  const file = join(mkdtempSync(join(tmpdir(), `netaudit-${o.cluster}-sa-`)), 'kubeconfig');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: ${o.cluster}, cluster: { server: "${o.server}", certificate-authority-data: "${o.caData}" } }]
users: [{ name: netaudit, user: { token: "${o.token}" } }]
contexts: [{ name: netaudit, context: { cluster: ${o.cluster}, user: netaudit, namespace: netaudit } }]
current-context: netaudit
`,
  );
  return file;
}
