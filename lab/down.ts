/** `down` (removes everything the lab made, also after a crash, without the state file) and `leftovers`. */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { BRIDGE, LAB_DIR } from './config.ts';
import { ciliumDown, ciliumLeftovers } from './enforcer/cilium.ts';
import { NEIGH_THRESHOLDS, restoreHostSysctls } from './host-safety.ts';
import { removeCommentedRules } from './iptables.ts';
import { findLabProcesses, isAlive, stopProcess } from './procs.ts';
import { restartClock, say } from './progress.ts';
import { linkExists, netnsList, out, run } from './sh.ts';
import { readState } from './state.ts';

const STOP_ORDER = [
  'agent-',
  'kube-router-',
  'cilium-agent-',
  'external-',
  'kube-scheduler',
  'kube-controller-manager',
  'kube-apiserver',
  'etcd',
];

export async function down(): Promise<void> {
  restartClock();
  const s = readState();
  // Known processes in order (agents first so nothing reacts to the rest going away).
  const names = Object.keys(s.processes).sort(
    (a, b) => STOP_ORDER.findIndex((p) => a.startsWith(p)) - STOP_ORDER.findIndex((p) => b.startsWith(p)),
  );
  for (const name of names) {
    const rec = s.processes[name];
    if (rec && isAlive(rec)) {
      say(`stopping ${name}`);
      await stopProcess(rec, 3000);
    }
  }
  // Anything left (pods, a crashed run's processes): by command line or network namespace.
  for (let round = 0; round < 3; round++) {
    const left = findLabProcesses();
    if (!left.length) break;
    for (const p of left) say(`killing leftover pid ${p.pid} (${p.why}): ${p.cmdline.slice(0, 100)}`);
    await Promise.all(left.map((p) => stopProcess(p, round === 0 ? 2000 : 0)));
  }
  for (const ns of await netnsList()) {
    if (ns.startsWith('nalab-')) await run('ip', ['netns', 'del', ns], { check: false });
  }
  const links = await run('ip', ['-j', 'link', 'show'], { check: false });
  for (const l of links.stdout.trim() ? (JSON.parse(links.stdout) as { ifname: string }[]) : []) {
    if (l.ifname.startsWith('nalab') && l.ifname !== BRIDGE)
      await run('ip', ['link', 'del', l.ifname], { check: false });
  }
  if (await linkExists(BRIDGE)) await run('ip', ['link', 'del', BRIDGE]);
  const unreachable = JSON.parse(
    (await out('ip', ['-j', 'route', 'show', 'type', 'unreachable'])) || '[]',
  ) as {
    dst: string;
  }[];
  for (const r of unreachable) {
    if (/^(198\.1[89]\.|203\.0\.113\.)/.test(r.dst)) await run('ip', ['route', 'del', 'unreachable', r.dst]);
  }
  await removeCommentedRules(/nalab-/);
  await restoreHostSysctls(s.hostSysctls);
  // After every agent is gone: unmounting each node's bpffs frees its pinned programs and maps.
  await ciliumDown();
  // Everything under .lab but the logs.
  if (existsSync(LAB_DIR)) {
    for (const f of readdirSync(LAB_DIR))
      if (f !== 'logs') rmSync(resolve(LAB_DIR, f), { recursive: true, force: true });
  }
  say('lab down');
}

/** What is left of the lab on this machine (empty when `down` did its job). */
export async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const ns of await netnsList()) if (ns.startsWith('nalab')) left.push(`netns ${ns}`);
  const links = await run('ip', ['-j', 'link', 'show'], { check: false });
  for (const l of links.stdout.trim() ? (JSON.parse(links.stdout) as { ifname: string }[]) : [])
    if (l.ifname.startsWith('nalab')) left.push(`link ${l.ifname}`);
  const routes = await out('ip', ['route', 'show', 'table', 'all']);
  for (const r of routes.split('\n'))
    if (/198\.1[89]\.|203\.0\.113\.|nalab/.test(r)) left.push(`route ${r.trim()}`);
  const rules = await out('iptables-save', []);
  for (const r of rules.split('\n'))
    if (/nalab|198\.1[89]\.|203\.0\.113\./.test(r)) left.push(`iptables ${r}`);
  const sets = await run('ipset', ['list', '-n'], { check: false });
  for (const n of sets.stdout.split('\n')) if (/^(KUBE-|kube-router|nalab)/.test(n)) left.push(`ipset ${n}`);
  for (const p of findLabProcesses()) left.push(`process ${p.pid} ${p.cmdline.slice(0, 120)}`);
  // `down` restored what it raised; a threshold still at exactly the lab's value was not put back.
  for (const [key, lab] of Object.entries(NEIGH_THRESHOLDS))
    if ((await out('sysctl', ['-n', key])).trim() === String(lab)) left.push(`sysctl ${key} = ${lab}`);
  left.push(...(await ciliumLeftovers()));
  return left;
}
