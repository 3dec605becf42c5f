/**
 * What the lab changes on the host itself, and puts back: the traffic-safety walls (unreachable routes
 * for the lab ranges, drops for lab-sourced packets on the uplink), the neighbour-table thresholds,
 * and the check that a stand-in never takes an address the machine reaches through its uplink.
 */
import { lookup } from 'node:dns/promises';
import { HOST_UNREACHABLE, LAB_RANGES } from './config.ts';
import { ensureIptablesRule } from './iptables.ts';
import { out, run } from './sh.ts';
import { readState, updateState } from './state.ts';

const SAFETY = 'nalab-safety';

async function uplinks(): Promise<string[]> {
  const r = await run('ip', ['-j', 'route', 'show', 'default'], { check: false });
  const devs = r.stdout.trim() ? (JSON.parse(r.stdout) as { dev?: string }[]).map((x) => x.dev ?? '') : [];
  return [...new Set(devs.filter((d) => d && !d.startsWith('nalab')))];
}

export async function ensureSafety(): Promise<void> {
  const devs = await uplinks();
  const rules: string[][] = [];
  for (const dev of devs) {
    for (const range of LAB_RANGES) {
      for (const chain of ['FORWARD', 'OUTPUT']) {
        const rule = ['-s', range, '-o', dev, '-m', 'comment', '--comment', SAFETY, '-j', 'DROP'];
        await ensureIptablesRule('filter', chain, rule);
        rules.push([chain, ...rule]);
      }
    }
  }
  // Host routes: the whole node/pod range, but only the stand-ins' /32s of TEST-NET-3: this sandbox
  // serves its package registries from 203.0.113.80 through the uplink (docs/lab.md).
  const routes: string[][] = [];
  for (const dst of [HOST_UNREACHABLE, ...readState().externals.map((ip) => `${ip}/32`)]) {
    await run('ip', ['route', 'replace', 'unreachable', dst]);
    routes.push(['unreachable', dst]);
  }
  updateState((s) => {
    s.uplink = devs.join(',');
    s.safetyRules = rules;
    s.hostRoutes = routes;
  });
}

/**
 * The kernel's ARP table is one for every network namespace, and its thresholds can only be set in the
 * host's: with a few hundred pod netns a probe round can pass the default hard limit (gc_thresh3 1024),
 * and the kernel then drops the packets that needed a new entry ("neighbor table overflow"). Pods route
 * via their node (one entry each), and the lab raises the limits while it is up; `down` restores them.
 */
export const NEIGH_THRESHOLDS: Record<string, number> = {
  'net.ipv4.neigh.default.gc_thresh1': 2048,
  'net.ipv4.neigh.default.gc_thresh2': 8192,
  'net.ipv4.neigh.default.gc_thresh3': 16384,
};

export async function ensureNeighbourTable(): Promise<void> {
  const saved = readState().hostSysctls;
  const raise: Record<string, string> = {};
  for (const [key, want] of Object.entries(NEIGH_THRESHOLDS)) {
    const now = (await out('sysctl', ['-n', key])).trim();
    if (Number(now) >= want) continue;
    raise[key] = saved[key] ?? now;
    await run('sysctl', ['-q', '-w', `${key}=${want}`]);
  }
  if (Object.keys(raise).length) updateState((s) => Object.assign(s.hostSysctls, raise));
}

/** The kernel's defaults: what `down` puts back when the state file (and the values it kept) is gone. */
const NEIGH_KERNEL_DEFAULTS: Record<string, string> = {
  'net.ipv4.neigh.default.gc_thresh1': '128',
  'net.ipv4.neigh.default.gc_thresh2': '512',
  'net.ipv4.neigh.default.gc_thresh3': '1024',
};

export async function restoreHostSysctls(recorded: Readonly<Record<string, string>>): Promise<void> {
  const saved: Record<string, string> = { ...recorded };
  for (const [key, lab] of Object.entries(NEIGH_THRESHOLDS)) {
    if (key in saved) continue;
    const now = (await out('sysctl', ['-n', key])).trim();
    if (now === String(lab)) saved[key] = NEIGH_KERNEL_DEFAULTS[key] ?? now;
  }
  // Thresholds must stay ordered (1 <= 2 <= 3) at every step: lower them from the first up.
  for (const key of Object.keys(saved).sort()) await run('sysctl', ['-q', '-w', `${key}=${saved[key]}`]);
  updateState((s) => {
    s.hostSysctls = {};
  });
}

/**
 * Names the machine reaches through its uplink (package registries). In this sandbox they resolve into
 * TEST-NET-3 (203.0.113.80): a stand-in must never take such an address, or the host would lose them.
 */
const UPLINK_NAMES = ['registry.npmjs.org', 'proxy.golang.org', 'deb.debian.org', 'pypi.org'];
async function addressesInUse(): Promise<Set<string>> {
  const used = new Set<string>();
  await Promise.all(
    UPLINK_NAMES.map(async (name) => {
      try {
        const r = await Promise.race([
          lookup(name, { all: true, family: 4 }),
          new Promise<{ address: string }[]>((r) => setTimeout(() => r([]), 2000).unref()),
        ]);
        for (const a of r) used.add(a.address);
      } catch {}
    }),
  );
  return used;
}

export async function checkExternals(ips: readonly string[]): Promise<void> {
  if (!ips.length) return;
  const used = await addressesInUse();
  for (const ip of ips) {
    if (used.has(ip)) {
      throw new Error(
        `stand-in ${ip} is an address this machine uses through its uplink (${UPLINK_NAMES.join(', ')} resolve to it): pick another 203.0.113.X`,
      );
    }
  }
}
