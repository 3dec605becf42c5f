// Traffic vocabulary shared by every layer: a port and its protocol are what a verdict is about, what
// a probe plan asks for and what a probe pod listens on.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** Exact and case-sensitive, as the API server checks `protocol` (`tcp` is not TCP). */
export function isProtocol(s: string): s is Protocol {
  return (PROTOCOLS as readonly string[]).includes(s);
}

/** A port and its protocol: what is probed and what a verdict is about. */
export interface PortSpec {
  readonly port: number;
  readonly protocol: Protocol;
}

/** `80/TCP`: a port's key in maps and its form in plans, flags and messages. */
export function portKey(p: PortSpec): string {
  return `${p.port}/${p.protocol}`;
}
