#!/usr/bin/env node
/** The lab's command line, called by scripts/lab (which first installs packages and builds). */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ENFORCERS } from './config.ts';
import { down, leftovers } from './down.ts';
import { clearFaults, drop, enforcerOff } from './faults.ts';
import { LAB_IMAGE } from './image.ts';
import { sleep } from './sh.ts';
import { status } from './status.ts';
import { addExternal, up } from './up.ts';

const USAGE = `usage: scripts/lab up [--nodes N] [--enforcer kube-router|cilium] [--external 203.0.113.X]...
       scripts/lab down
       scripts/lab status
       scripts/lab image
       scripts/lab external add 203.0.113.X
       scripts/lab fault enforcer-off [--node NAME]
       scripts/lab fault drop --from NS/POD --to NS/POD|IP --port PORT/PROTO
       scripts/lab fault clear
       scripts/lab leftovers`;

function flags(args: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    m.set(key, [...(m.get(key) ?? []), value]);
  }
  return m;
}
const one = (f: Map<string, string[]>, k: string) => f.get(k)?.at(-1);

/**
 * One lab per machine (network namespace names and addresses are global): commands that change it
 * take a lock, so concurrent `up`s (e.g. two test files) do not race. A dead holder's lock is taken over.
 */
const LOCK = '/run/lock/netaudit-lab.lock';
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync('/run/lock', { recursive: true });
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(LOCK);
      writeFileSync(`${LOCK}/pid`, String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(`${LOCK}/pid`, 'utf8'));
      } catch {}
      let alive = false;
      try {
        if (holder > 0) {
          process.kill(holder, 0);
          alive = true;
        }
      } catch {}
      if (!alive && (holder > 0 || waited > 2000)) rmSync(LOCK, { recursive: true, force: true });
      else if (waited % 10_000 === 0)
        process.stderr.write(`[lab] waiting for another lab command (pid ${holder})\n`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  if (cmd === 'up' || cmd === 'down' || cmd === 'fault' || cmd === 'external')
    return withLock(() => command(argv));
  return command(argv);
}

async function command(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'image':
      process.stdout.write(`${LAB_IMAGE}\n`);
      return 0;
    case 'up': {
      const f = flags(rest);
      const n = one(f, 'nodes');
      const nodes = n === undefined ? undefined : Number(n);
      if (nodes !== undefined && !(Number.isInteger(nodes) && nodes >= 1 && nodes <= 80))
        throw new Error('--nodes wants 1..80');
      const e = one(f, 'enforcer');
      const enforcer = ENFORCERS.find((x) => x === e);
      if (e !== undefined && !enforcer)
        throw new Error(`--enforcer wants ${ENFORCERS.join(' or ')}, got ${e}`);
      await up({
        ...(nodes !== undefined ? { nodes } : {}),
        ...(enforcer ? { enforcer } : {}),
        externals: f.get('external') ?? [],
      });
      return 0;
    }
    case 'down':
      await down();
      return 0;
    case 'status':
      return status();
    case 'leftovers': {
      const left = await leftovers();
      for (const l of left) process.stdout.write(`${l}\n`);
      return left.length ? 1 : 0;
    }
    case 'external': {
      const [sub, ip] = rest;
      if (sub !== 'add' || !ip) throw new Error(USAGE);
      await addExternal(ip);
      return 0;
    }
    case 'fault': {
      const [sub, ...fr] = rest;
      const f = flags(fr);
      if (sub === 'enforcer-off') await enforcerOff(one(f, 'node'));
      else if (sub === 'drop') {
        const from = one(f, 'from');
        const to = one(f, 'to');
        const port = one(f, 'port');
        if (!from || !to || !port) throw new Error(USAGE);
        await drop(from, to, port);
      } else if (sub === 'clear') await clearFaults();
      else throw new Error(USAGE);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

// `scripts/lab status | head` must not crash on a closed pipe.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`scripts/lab: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
