// Where a lab run's CPU goes: the machine's busy time (/proc/stat) between two snapshots, split over
// the lab's long-lived processes (own time, and the time of the children they reaped: kube-router's
// iptables runs, a node agent's pod processes and `ip` commands). What no snapshot saw (processes
// that started and ended in between, reaped by a process outside the groups) is the rest.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's counters (USER_HZ, 100 on Linux everywhere). */
const TICKS = 100;

interface Proc {
  readonly group: string;
  readonly self: number;
  readonly children: number;
}

export interface CpuSnapshot {
  readonly at: number;
  readonly busy: number;
  readonly procs: ReadonlyMap<number, Proc>;
}

/** The group a process belongs to, from its command line; undefined: not one of the lab's. */
function groupOf(comm: string, cmdline: string): string | undefined {
  if (comm === 'kube-router') return 'kube-router';
  if (comm === 'cilium-agent' || cmdline.includes('cilium-agent')) return 'cilium-agent';
  if (comm === 'kube-apiserver') return 'kube-apiserver';
  if (comm === 'etcd') return 'etcd';
  if (comm.startsWith('kube-controller') || comm === 'kube-scheduler') return 'kube-controller-manager';
  if (cmdline.includes('lab/agent/main.ts')) return 'lab node agents';
  if (cmdline.includes('main.ts controller') || cmdline.includes('main.js controller'))
    return 'netaudit controller';
  if (cmdline.includes('agent serve')) return 'agent serve (workloads, probe servers)';
  if (cmdline.includes('agent probe')) return 'agent probe (probe clients)';
  return undefined;
}

function busyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
}

export function cpuSnapshot(): CpuSnapshot {
  const procs = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const group = groupOf(comm, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
      if (!group) continue;
      // Fields after the command: state is field 3, so utime (14) is index 11 here.
      const f = stat
        .slice(close + 2)
        .split(' ')
        .map(Number);
      procs.set(pid, { group, self: (f[11] ?? 0) + (f[12] ?? 0), children: (f[13] ?? 0) + (f[14] ?? 0) });
    } catch {
      // The process ended while being read.
    }
  }
  return { at: Date.now(), busy: busyTicks(), procs };
}

export interface CpuShare {
  readonly seconds: number;
  /** CPU seconds the machine was busy (all cores). */
  readonly busyCpuSeconds: number;
  /** Per group: its processes' own CPU seconds, and their reaped children's. */
  readonly groups: Record<string, { readonly self: number; readonly children: number }>;
  /** Busy CPU seconds no group accounts for (other work on the machine, unreaped short processes). */
  readonly rest: number;
}

export function cpuShare(a: CpuSnapshot, b: CpuSnapshot): CpuShare {
  const groups: Record<string, { self: number; children: number }> = {};
  let counted = 0;
  for (const [pid, p] of b.procs) {
    const before = a.procs.get(pid);
    const self = p.self - (before?.self ?? 0);
    const children = p.children - (before?.children ?? 0);
    const g = groups[p.group] ?? { self: 0, children: 0 };
    groups[p.group] = g;
    g.self += self / TICKS;
    g.children += children / TICKS;
    counted += self + children;
  }
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    seconds: round((b.at - a.at) / 1000),
    busyCpuSeconds: round((b.busy - a.busy) / TICKS),
    groups: Object.fromEntries(
      Object.entries(groups)
        .sort((x, y) => y[1].self + y[1].children - (x[1].self + x[1].children))
        .map(([k, v]) => [k, { self: round(v.self), children: round(v.children) }]),
    ),
    rest: round((b.busy - a.busy - counted) / TICKS),
  };
}
