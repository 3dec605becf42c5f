// The probe client (`netaudit agent probe`): runs a plan and classifies every attempt.
//
// TCP: connect within the timeout. connected | refused (ECONNREFUSED: a RST, or the ICMP unreachable
// of an iptables REJECT) | timeout (nothing came back: DROP) | error (EHOSTUNREACH, ENETUNREACH,
// EADDRNOTAVAIL, EMFILE, ...: says nothing about policy, never counted as blocked).
// UDP: a connected socket sends a random nonce; connected ONLY when that exact nonce comes back (an
// echo from the server pod proves the path both ways); ECONNREFUSED (ICMP port unreachable reported
// on the connected socket) is refused; silence is timeout.
// SCTP: Node.js has no SCTP sockets, so SCTP probes are errors (`SCTP-unsupported`), never blocked.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from './errors.ts';
import type { ProbeOutcome, ProbeResult } from './outcome.ts';
import type { ProbePlan, ProbeSpec } from './plan.ts';
import { mapConcurrent } from './pool.ts';

/**
 * In flight at once. Measured in the lab: every client pod opening all of its few hundred probes at
 * once, on every node at the same time, overloads small nodes and turns into false timeouts; 64 keeps
 * a full plan within a few timeouts' time (a plan is at most ~420 probes: 7 waves when all time out).
 */
export const DEFAULT_CONCURRENCY = 64;
/** Spacing between the attempts of one probe, so a short blip does not fail every attempt. */
export const DEFAULT_ATTEMPT_GAP_MS = 100;
export const NONCE_BYTES = 16;

/** The part of a TCP socket the classifier uses; net.Socket has it. A seam for tests. */
export interface TcpSocketLike {
  once(event: 'connect', listener: () => void): unknown;
  once(event: 'error', listener: (e: Error) => void): unknown;
  destroy(): unknown;
}

/** The part of a UDP socket the classifier uses; dgram.Socket has it. */
export interface UdpSocketLike {
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  connect(port: number, address: string, callback: (e?: Error) => void): unknown;
  send(msg: Buffer, callback: (e: Error | null) => void): unknown;
  close(): unknown;
}

export interface ProbeDeps {
  readonly tcpConnect: (host: string, port: number) => TcpSocketLike;
  readonly udpSocket: (host: string) => UdpSocketLike;
  readonly nonce: () => Buffer;
  readonly now: () => number;
}

export interface RunPlanOptions {
  readonly concurrency?: number;
  readonly attemptGapMs?: number;
  readonly deps?: Partial<ProbeDeps>;
}

export const realDeps: ProbeDeps = {
  tcpConnect: (host, port) => net.connect({ host, port, noDelay: true }),
  udpSocket: (host) => dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4'),
  nonce: () => Buffer.from(randomBytes(NONCE_BYTES).toString('hex')),
  now: () => performance.now(),
};

/** Every attempt of every probe, in the plan's order. Never rejects: failures are `error` outcomes. */
export async function runPlan(plan: ProbePlan, opts: RunPlanOptions = {}): Promise<ProbeResult[]> {
  const deps: ProbeDeps = { ...realDeps, ...opts.deps };
  const gap = opts.attemptGapMs ?? DEFAULT_ATTEMPT_GAP_MS;
  return mapConcurrent(plan.probes, opts.concurrency ?? DEFAULT_CONCURRENCY, async (spec) => {
    const attempts: ProbeOutcome[] = [];
    for (let i = 0; i < plan.attempts; i++) {
      if (i > 0 && gap > 0) await sleep(gap);
      attempts.push(await probeOnce(spec, plan.timeoutMs, deps));
    }
    return { id: spec.id, attempts };
  });
}

export function probeOnce(
  spec: ProbeSpec,
  timeoutMs: number,
  deps: ProbeDeps = realDeps,
): Promise<ProbeOutcome> {
  switch (spec.protocol) {
    case 'TCP':
      return probeTcp(spec, timeoutMs, deps);
    case 'UDP':
      return probeUdp(spec, timeoutMs, deps);
    case 'SCTP':
      return Promise.resolve({ kind: 'error', cause: 'SCTP-unsupported' });
  }
}

/** How a failed connect or send reads: only ECONNREFUSED and ETIMEDOUT are answers of the network. */
export function classifyError(e: unknown): ProbeOutcome {
  const code = errnoCode(e);
  if (code === 'ECONNREFUSED') return { kind: 'refused' };
  // The kernel gives up on SYNs after minutes; seen only with very long timeouts, still a DROP.
  if (code === 'ETIMEDOUT') return { kind: 'timeout' };
  return { kind: 'error', cause: code ?? (e instanceof Error ? e.message : String(e)) };
}

/** What a started probe gives back: how to release its socket, and when it really sent. */
interface Started {
  readonly release: () => void;
  /** performance.now() when the packet left (a connect() or a send()); undefined: not yet. */
  readonly sentAt: () => number | undefined;
}

/**
 * Settles once: the first of answer, error and deadline wins, and the socket is always released.
 *
 * The deadline counts from when the packet really left. On a busy node this process can be starved
 * between starting a probe and its send (a UDP send runs a loop turn or two after the socket is
 * created): a clock started before the send would time out a probe that never had its window
 * (test/unit/probe/loopback.test.ts starves the event loop to show it). The verdict is also given
 * one more loop turn (setImmediate), so a reply the kernel already holds is read before silence is
 * declared, whatever order the event loop runs its phases in.
 */
function race(
  timeoutMs: number,
  start: (settle: (o: ProbeOutcome) => void) => Started | undefined,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let done = false;
    let started: Started | undefined;
    const armedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let extended = false;
    const deadline = (): void => {
      if (done) return;
      const sent = started?.sentAt();
      if (sent === undefined && !extended) {
        // Not even sent yet (this process was starved before its send ran): one more period.
        extended = true;
        timer = setTimeout(deadline, timeoutMs);
        return;
      }
      const remaining = (sent ?? armedAt) + timeoutMs - performance.now();
      if (remaining >= 1) {
        timer = setTimeout(deadline, remaining);
        return;
      }
      setImmediate(() => settle({ kind: 'timeout' }));
    };
    timer = setTimeout(deadline, timeoutMs);
    function settle(o: ProbeOutcome): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        started?.release();
      } catch {
        // closing an already closed socket: nothing left to release
      }
      resolve(o);
    }
    try {
      started = start(settle);
      if (done) started?.release();
    } catch (e) {
      // Synchronous failures (EMFILE from createSocket, a bad address) are errors, not crashes.
      settle(classifyError(e));
    }
  });
}

function elapsed(deps: ProbeDeps, since: number, timeoutMs: number): number {
  // The deadline bounds the value, which keeps the encoded results within their computed worst case.
  return Math.min(timeoutMs, Math.max(0, Math.round(deps.now() - since)));
}

function probeTcp(spec: ProbeSpec, timeoutMs: number, deps: ProbeDeps): Promise<ProbeOutcome> {
  return race(timeoutMs, (settle) => {
    const since = deps.now();
    const socket = deps.tcpConnect(spec.host, spec.port);
    let sentAt: number | undefined;
    // net.connect() issues the connect (the SYN) on the next tick: this one runs right after it.
    process.nextTick(() => {
      sentAt = performance.now();
    });
    socket.once('connect', () => settle({ kind: 'connected', ms: elapsed(deps, since, timeoutMs) }));
    socket.once('error', (e) => settle(classifyError(e)));
    return { release: () => socket.destroy(), sentAt: () => sentAt };
  });
}

function probeUdp(spec: ProbeSpec, timeoutMs: number, deps: ProbeDeps): Promise<ProbeOutcome> {
  return race(timeoutMs, (settle) => {
    const nonce = deps.nonce();
    const socket = deps.udpSocket(spec.host);
    let since = deps.now();
    let sentAt: number | undefined;
    socket.on('error', (e) => settle(classifyError(e)));
    socket.on('message', (msg) => {
      // Anything else (a stray or late datagram of another attempt) is not an answer to this one.
      if (msg.equals(nonce)) settle({ kind: 'connected', ms: elapsed(deps, since, timeoutMs) });
    });
    socket.connect(spec.port, spec.host, (e) => {
      if (e) return settle(classifyError(e));
      since = deps.now();
      socket.send(nonce, (sendError) => {
        if (sendError) settle(classifyError(sendError));
        else sentAt = performance.now();
      });
    });
    return { release: () => socket.close(), sentAt: () => sentAt };
  });
}
