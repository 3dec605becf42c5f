/** Detached lab processes: start with logs in .lab/logs, identify by pid + start time, find leftovers. */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { LAB_DIR, LOG_DIR } from './config.ts';
import { say } from './progress.ts';
import { sleep } from './sh.ts';
import { type ProcRecord, readState, updateState } from './state.ts';

export function procStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which is in parentheses and may contain spaces).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); start time is field 22 -> rest[19].
    if (rest[0] === 'Z') return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

export function isAlive(rec: Pick<ProcRecord, 'pid' | 'startTime'> | undefined): boolean {
  if (!rec) return false;
  const st = procStartTime(rec.pid);
  return st !== undefined && st === rec.startTime;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly netns?: string;
  readonly cwd?: string;
}

/** Starts argv detached (own session), stdout+stderr appended to .lab/logs/<name>.log. */
export function startDetached(name: string, argv: readonly string[], opts: StartOptions = {}): ProcRecord {
  mkdirSync(LOG_DIR, { recursive: true });
  const log = resolve(LOG_DIR, `${name}.log`);
  const fd = openSync(log, 'a');
  const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : [...argv];
  const [cmd, ...args] = full;
  if (!cmd) throw new Error('empty argv');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? LAB_DIR,
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name}: ${full.join(' ')}`);
  const startTime = procStartTime(pid) ?? 0;
  return { pid, startTime, argv: full, log, ...(opts.netns ? { netns: opts.netns } : {}) };
}

/** SIGTERM, wait up to graceMs, then SIGKILL. Resolves when the process is gone. */
export async function stopProcess(rec: Pick<ProcRecord, 'pid' | 'startTime'>, graceMs = 5000): Promise<void> {
  if (!isAlive(rec)) return;
  try {
    process.kill(rec.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(rec)) return;
    await sleep(50);
  }
  try {
    process.kill(rec.pid, 'SIGKILL');
  } catch {}
  for (let i = 0; i < 100 && isAlive(rec); i++) await sleep(20);
}

function netnsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Inodes of the lab's named network namespaces (`nalab-*` in /run/netns). */
export function labNetnsInodes(): Map<number, string> {
  const m = new Map<number, string>();
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {}
  for (const n of names) {
    if (!n.startsWith('nalab-')) continue;
    const ino = netnsInode(`/run/netns/${n}`);
    if (ino !== undefined) m.set(ino, n);
  }
  return m;
}

export interface FoundProc {
  readonly pid: number;
  readonly startTime: number;
  readonly cmdline: string;
  readonly why: string;
}

/**
 * Every process that belongs to the lab: its command line names the lab directory, or it runs in a
 * `nalab-*` network namespace (kube-routers, pod processes, stand-in listeners).
 */
export function findLabProcesses(): FoundProc[] {
  const inodes = labNetnsInodes();
  const found: FoundProc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid || pid === process.ppid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue;
    }
    let why = '';
    if (cmdline.includes(`${LAB_DIR}/`) || cmdline.endsWith(LAB_DIR)) why = 'command line names .lab';
    else {
      try {
        const link = readlinkSync(`/proc/${pid}/ns/net`);
        const ino = Number(/\[(\d+)\]/.exec(link)?.[1]);
        const ns = inodes.get(ino);
        if (ns) why = `in netns ${ns}`;
      } catch {}
    }
    if (!why) continue;
    const startTime = procStartTime(pid);
    if (startTime === undefined) continue;
    found.push({ pid, startTime, cmdline, why });
  }
  return found;
}

/** Starts a lab process unless the one recorded under its name is still alive; true when it started one. */
export function ensureProcess(
  name: string,
  argv: string[],
  opts: { netns?: string; env?: NodeJS.ProcessEnv } = {},
): boolean {
  const s = readState();
  if (isAlive(s.processes[name])) return false;
  const rec = startDetached(name, argv, opts);
  updateState((st) => {
    st.processes[name] = rec;
  });
  say(`started ${name} (pid ${rec.pid})`);
  return true;
}

export function requireBinary(path: string): void {
  if (!existsSync(path))
    throw new Error(`${path} is missing: run scripts/lab.d/build.sh (scripts/lab up does)`);
}
