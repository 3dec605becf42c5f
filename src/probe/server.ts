// The probe server (`netaudit agent serve`): a listener on every probed port, so that "refused" can
// only mean a policy REJECT, never a closed port. TCP connections are accepted and closed at once;
// UDP datagrams are echoed to their sender (the client waits for its nonce).
//
// UDP replies leave from the wildcard socket, so the kernel picks their source address by route. A
// pod has one IP per family, which is the one probed, so the client's connected socket accepts the
// reply; a host with several addresses of a family on one route (e.g. 127.0.0.2 on lo) would answer
// from the preferred one and the client would see a timeout. Node has no IP_PKTINFO to fix that.
//
// SCTP is not served: Node.js has no SCTP sockets at all (net and dgram are TCP and UDP only). SCTP
// ports are logged as skipped; serving them would need a native addon or a helper binary.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import { err, ok, type Result } from '../core/result.ts';
import { type PortSpec, portKey } from '../core/traffic.ts';
import { BindError, errnoCode } from './errors.ts';

export interface ServeOptions {
  readonly logger: Logger;
  /** Listen on this address only; default: every address, IPv6 and IPv4 when available. */
  readonly address?: string;
  /** Closes the server when aborted (the CLI aborts on SIGTERM and SIGINT). */
  readonly signal?: AbortSignal;
  /** A client that keeps a connection open longer than this is cut off. */
  readonly tcpIdleMs?: number;
}

export interface BoundPort {
  /** The port asked for; 0 asks the kernel for a free one (tests). */
  readonly requested: number;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly address: string;
}

export interface RunningServer {
  readonly bound: readonly BoundPort[];
  readonly skipped: readonly PortSpec[];
  /** Stops listening and drops open connections; idempotent. */
  close(): Promise<void>;
  /** Settles when the server has closed, by close() or by the signal. */
  readonly closed: Promise<void>;
}

/** Only the nonce is needed back; a cap keeps the echo from ever reflecting large payloads. */
const MAX_ECHO_BYTES = 512;
const DEFAULT_TCP_IDLE_MS = 5000;

interface Listener {
  readonly bound: BoundPort;
  close(): Promise<void>;
}

export async function serve(
  ports: readonly PortSpec[],
  opts: ServeOptions,
): Promise<Result<RunningServer, BindError>> {
  const { logger } = opts;
  const listeners: Listener[] = [];
  const skipped: PortSpec[] = [];
  for (const spec of dedupe(ports)) {
    if (spec.protocol === 'SCTP') {
      logger.warn(
        { port: spec.port, protocol: spec.protocol, reason: 'sctp-unsupported' },
        'SCTP port not served: Node.js has no SCTP sockets',
      );
      skipped.push(spec);
      continue;
    }
    const listener =
      spec.protocol === 'TCP' ? await listenTcp(spec.port, opts) : await listenUdp(spec.port, opts);
    if (!listener.ok) {
      await Promise.all(listeners.map((l) => l.close()));
      logger.error(
        { port: spec.port, protocol: spec.protocol, code: listener.error.code, err: listener.error },
        'cannot listen',
      );
      return err(listener.error);
    }
    listeners.push(listener.value);
    logger.info({ ...listener.value.bound }, 'listening');
  }

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all(listeners.map((l) => l.close())).then(() => {
      logger.info({ ports: listeners.length }, 'server closed');
      resolveClosed();
    });
    return closing;
  };
  if (opts.signal?.aborted) void close();
  else opts.signal?.addEventListener('abort', () => void close(), { once: true });
  return ok({ bound: listeners.map((l) => l.bound), skipped, close, closed });
}

/** Same port and protocol twice is served once; port 0 asks for a new free port each time. */
function dedupe(ports: readonly PortSpec[]): PortSpec[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const key = portKey(p);
    if (p.port !== 0 && seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function listenTcp(requested: number, opts: ServeOptions): Promise<Result<Listener, BindError>> {
  const { logger } = opts;
  const idleMs = opts.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS;
  const sockets = new Set<net.Socket>();
  const stats = { accepted: 0, errors: 0 };
  const server = net.createServer({ noDelay: true }, (socket) => {
    stats.accepted++;
    sockets.add(socket);
    // A client that resets (RST) or vanishes emits 'error'; without a listener that would crash.
    socket.on('error', (e) => {
      stats.errors++;
      logger.debug({ port: requested, protocol: 'TCP', code: errnoCode(e) }, 'connection error');
    });
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.resume(); // discard anything the client sends
    socket.end(); // FIN: the handshake completing was the whole point
  });
  return new Promise((resolve) => {
    const onListenError = (e: Error): void => {
      const code = errnoCode(e);
      resolve(
        err(
          new BindError(
            { port: requested, protocol: 'TCP', address: opts.address ?? '::', ...(code ? { code } : {}) },
            e.message,
            { cause: e },
          ),
        ),
      );
    };
    server.once('error', onListenError);
    // Without a host Node listens on :: (dual-stack) when IPv6 is available, else on 0.0.0.0.
    server.listen({ port: requested, ...(opts.address === undefined ? {} : { host: opts.address }) }, () => {
      server.off('error', onListenError);
      // Once listening, errors come from accept() (EMFILE, ENFILE): logged, never fatal.
      server.on('error', (e) => {
        logger.warn({ port: requested, protocol: 'TCP', code: errnoCode(e), err: e }, 'accept failed');
      });
      const addr = server.address();
      const bound: BoundPort = {
        requested,
        port: typeof addr === 'object' && addr ? addr.port : requested,
        protocol: 'TCP',
        address: typeof addr === 'object' && addr ? addr.address : String(addr),
      };
      resolve(
        ok({
          bound,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => {
                logger.info({ ...bound, ...stats }, 'stopped listening');
                done();
              });
              for (const s of sockets) s.destroy();
            }),
        }),
      );
    });
  });
}

async function listenUdp(requested: number, opts: ServeOptions): Promise<Result<Listener, BindError>> {
  if (opts.address !== undefined) {
    return bindUdp(net.isIPv6(opts.address) ? 'udp6' : 'udp4', opts.address, requested, opts);
  }
  // A udp6 socket on :: also receives IPv4 (dual-stack); fall back to udp4 where IPv6 is off.
  const six = await bindUdp('udp6', '::', requested, opts);
  if (six.ok || !IPV6_UNAVAILABLE.has(six.error.code ?? '')) return six;
  return bindUdp('udp4', '0.0.0.0', requested, opts);
}

const IPV6_UNAVAILABLE = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

function bindUdp(
  type: 'udp4' | 'udp6',
  address: string,
  requested: number,
  opts: ServeOptions,
): Promise<Result<Listener, BindError>> {
  const { logger } = opts;
  const stats = { echoed: 0, errors: 0 };
  const socket = dgram.createSocket({ type, ipv6Only: false });
  socket.on('message', (msg, rinfo) => {
    stats.echoed++;
    socket.send(msg.subarray(0, MAX_ECHO_BYTES), rinfo.port, rinfo.address, (e) => {
      if (e)
        logger.debug(
          { port: requested, protocol: 'UDP', code: errnoCode(e), to: rinfo.address },
          'echo failed',
        );
    });
  });
  return new Promise((resolve) => {
    const onBindError = (e: Error): void => {
      const code = errnoCode(e);
      try {
        socket.close();
      } catch {
        // already closed by the failed bind
      }
      resolve(
        err(
          new BindError({ port: requested, protocol: 'UDP', address, ...(code ? { code } : {}) }, e.message, {
            cause: e,
          }),
        ),
      );
    };
    socket.once('error', onBindError);
    socket.bind({ port: requested, address }, () => {
      socket.off('error', onBindError);
      socket.on('error', (e) => {
        stats.errors++;
        logger.warn({ port: requested, protocol: 'UDP', code: errnoCode(e), err: e }, 'socket error');
      });
      const bound: BoundPort = { requested, port: socket.address().port, protocol: 'UDP', address };
      resolve(
        ok({
          bound,
          close: () =>
            new Promise<void>((done) => {
              socket.close(() => {
                logger.info({ ...bound, ...stats }, 'stopped listening');
                done();
              });
            }),
        }),
      );
    });
  });
}
