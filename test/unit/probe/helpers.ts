// Loopback helpers for the probe tests. Tests send packets only to 127.0.0.0/8 and ::1.
import dgram from 'node:dgram';
import net from 'node:net';
import pino from 'pino';

export const silentLogger = pino({ level: 'silent' });

/** A port that was free a moment ago on this loopback address (bound, then released). */
export async function freePort(protocol: 'TCP' | 'UDP', host = '127.0.0.1'): Promise<number> {
  if (protocol === 'TCP') {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    return address.port;
  }
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A UDP socket that receives and never answers: what a DROP of the reply looks like to the client. */
export async function silentUdp(host = '127.0.0.1'): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('message', () => {});
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
