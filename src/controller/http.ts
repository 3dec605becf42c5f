// /metrics, /healthz and /readyz. healthz: the process serves (its event loop runs); readyz: every
// watch cache is synced and the leader state is known (false while the API server is away).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export function parseListen(listen: string): { host: string | undefined; port: number } {
  const i = listen.lastIndexOf(':');
  const host = i > 0 ? listen.slice(0, i).replace(/^\[|\]$/g, '') : undefined;
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--listen ${listen}: not HOST:PORT or :PORT`);
  return { host, port };
}

export function startHttp(
  listen: string,
  registry: Registry,
  ready: () => boolean,
  details: () => Record<string, unknown>,
): Promise<Server> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ ready: ok, ...details() })}\n`);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
