// A scripted Kubernetes API server on loopback and a KubeConfig that talks to it: the handler
// answers every request as the test needs.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';

export async function loopbackApi(handler: RequestListener): Promise<{
  readonly server: Server;
  readonly kc: k8s.KubeConfig;
  readonly close: () => Promise<void>;
}> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return { server, kc, close };
}
