#!/usr/bin/env node
/**
 * The lab's own small network tool, independent of netaudit's code:
 *   nettool serve --port 80/TCP --port 53/UDP ...   listen on TCP ports, echo UDP datagrams
 *   nettool probe [--timeout MS] tcp:IP:PORT udp:IP:PORT ...   one JSON line per target:
 *     {"target","result":"connected"|"refused"|"timeout"|"error","ms","detail"?}
 *   nettool exit [--code N] [--message TEXT] [--sleep MS]   write TEXT to /dev/termination-log, exit N
 *   nettool env   write {uid,gid,capEff,noNewPrivs,cwd,env} as JSON to /dev/termination-log
 * Run it inside a pod or stand-in netns (`ip netns exec ...`). It only ever targets lab addresses.
 */
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';

type Proto = 'TCP' | 'UDP';
export type ProbeResult = 'connected' | 'refused' | 'timeout' | 'error';
export interface ProbeOutcome {
  target: string;
  result: ProbeResult;
  ms: number;
  detail?: string;
}

const LAB_ADDRESS = /^(198\.1[89]\.\d{1,3}\.\d{1,3}|203\.0\.113\.\d{1,3}|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

function parsePort(spec: string): { port: number; proto: Proto } {
  const m = /^(\d{1,5})(?:\/(TCP|UDP|tcp|udp))?$/.exec(spec);
  if (!m) throw new Error(`bad port ${spec} (want PORT/TCP or PORT/UDP)`);
  return { port: Number(m[1]), proto: (m[2] ?? 'TCP').toUpperCase() as Proto };
}

function serve(ports: string[]): void {
  const name = process.env.HOSTNAME ?? hostname();
  if (ports.length === 0) ports = ['80/TCP', '80/UDP'];
  for (const spec of ports) {
    const { port, proto } = parsePort(spec);
    if (proto === 'TCP') {
      const srv = net.createServer((sock) => {
        sock.on('error', () => {});
        sock.end(`nettool ${name}\n`);
      });
      srv.on('error', (e) => {
        process.stderr.write(`nettool: tcp ${port}: ${e.message}\n`);
        process.exit(1);
      });
      srv.listen(port, '0.0.0.0');
    } else {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
      sock.on('error', (e) => {
        process.stderr.write(`nettool: udp ${port}: ${e.message}\n`);
        process.exit(1);
      });
      sock.bind(port, '0.0.0.0');
    }
  }
  process.stdout.write(`nettool serving ${ports.join(' ')}\n`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function probeTcp(ip: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const t0 = performance.now();
  const target = `tcp:${ip}:${port}`;
  return new Promise((resolve) => {
    const sock = net.connect({ host: ip, port });
    const done = (result: ProbeResult, detail?: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ target, result, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    sock.on('connect', () => done('connected'));
    sock.on('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'refused' : 'error', e.code ?? e.message),
    );
  });
}

function probeUdp(ip: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const t0 = performance.now();
  const target = `udp:${ip}:${port}`;
  const nonce = Buffer.from(`nalab-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    let resend: NodeJS.Timeout | undefined;
    const done = (result: ProbeResult, detail?: string) => {
      clearTimeout(timer);
      if (resend) clearInterval(resend);
      try {
        sock.close();
      } catch {}
      resolve({ target, result, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    sock.on('message', (msg) => {
      if (msg.equals(nonce)) done('connected');
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'refused' : 'error', e.code ?? e.message),
    );
    sock.connect(port, ip, () => {
      const send = () => sock.send(nonce, (e) => e && done('error', e.message));
      send();
      resend = setInterval(send, 250);
    });
  });
}

async function probe(args: string[]): Promise<void> {
  let timeoutMs = 1000;
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--timeout') timeoutMs = Number(args[++i]);
    else if (a.startsWith('--timeout=')) timeoutMs = Number(a.slice(10));
    else targets.push(a);
  }
  const outcomes = await Promise.all(
    targets.map(async (t): Promise<ProbeOutcome> => {
      const m = /^(tcp|udp):([\d.]+):(\d{1,5})$/i.exec(t);
      if (!m)
        return { target: t, result: 'error', ms: 0, detail: 'bad target (want tcp:IP:PORT or udp:IP:PORT)' };
      const [, proto, ip = '', port] = m;
      if (!LAB_ADDRESS.test(ip))
        return { target: t, result: 'error', ms: 0, detail: 'not a lab address: refused' };
      return proto?.toLowerCase() === 'tcp'
        ? probeTcp(ip, Number(port), timeoutMs)
        : probeUdp(ip, Number(port), timeoutMs);
    }),
  );
  for (const o of outcomes) process.stdout.write(`${JSON.stringify(o)}\n`);
}

function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve') {
    const ports: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i] ?? '';
      if (a === '--port') ports.push(rest[++i] ?? '');
      else if (a.startsWith('--port=')) ports.push(a.slice(7));
      else throw new Error(`unknown argument ${a}`);
    }
    serve(ports);
  } else if (cmd === 'probe') {
    probe(rest).catch((e: unknown) => {
      process.stderr.write(`nettool: ${String(e)}\n`);
      process.exit(2);
    });
  } else if (cmd === 'exit') {
    // nettool exit [--code N] [--message TEXT] [--sleep MS]: writes TEXT to the termination log.
    let code = 0;
    let message: string | undefined;
    let sleepMs = 0;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i] ?? '';
      if (a === '--code') code = Number(rest[++i]);
      else if (a === '--message') message = rest[++i] ?? '';
      else if (a === '--sleep') sleepMs = Number(rest[++i]);
    }
    setTimeout(() => {
      if (message !== undefined)
        writeFileSync(process.env.NETTOOL_TERMINATION_LOG ?? '/dev/termination-log', message);
      process.exit(code);
    }, sleepMs);
  } else if (cmd === 'env') {
    // nettool env: the process's identity and environment, as JSON, in the termination log.
    const status = readFileSync('/proc/self/status', 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
    const info = {
      uid: process.getuid?.(),
      gid: process.getgid?.(),
      capEff: field('CapEff'),
      noNewPrivs: field('NoNewPrivs'),
      cwd: process.cwd(),
      env: process.env,
    };
    writeFileSync(process.env.NETTOOL_TERMINATION_LOG ?? '/dev/termination-log', JSON.stringify(info));
  } else {
    process.stderr.write(
      'usage: nettool serve --port 80/TCP ... | nettool probe [--timeout MS] tcp:IP:PORT ...\n',
    );
    process.exit(2);
  }
}

if (import.meta.main) main(process.argv.slice(2));
