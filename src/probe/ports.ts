// `--port PORT[/PROTO]` values of `agent serve`: protocol case-insensitive, TCP by default.
import { err, ok, type Result } from '../core/result.ts';
import type { PortSpec } from '../core/traffic.ts';
import { isProtocol } from '../core/traffic.ts';

export function parsePortSpec(text: string): Result<PortSpec, string> {
  const m = /^([0-9]{1,5})(?:\/([A-Za-z]+))?$/.exec(text.trim());
  if (!m) return err(`'${text}' is not PORT or PORT/PROTOCOL (e.g. 80/TCP, 53/UDP)`);
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return err(`port ${port} in '${text}' is not in 1-65535`);
  const protocol = (m[2] ?? 'TCP').toUpperCase();
  if (!isProtocol(protocol)) return err(`protocol '${m[2] ?? ''}' in '${text}' is not TCP, UDP or SCTP`);
  return ok({ port, protocol });
}
