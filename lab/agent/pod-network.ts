/**
 * A pod's network: a /32 from the node's range, its own network namespace, and a veth to the node
 * netns with a route to it; torn down with every process still inside.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ciliumCni } from '../enforcer/cilium-cni.ts';
import { labNetnsInodes } from '../procs.ts';
import { inNetns, netnsExists, run, sleep } from '../sh.ts';
import { enforcer, IPAM_FILE, L, node } from './context.ts';
import { cniPod } from './enforcement.ts';
import type { PodRec } from './records.ts';

// ---------------------------------------------------------------------------------------------------
// IP allocation: /32s from the node's /24, .2-.254, round-robin so a freed IP is not reused at once.
export function allocateIp(recs: Iterable<PodRec>, netnsNames: readonly string[]): string {
  const used = new Set<string>();
  for (const r of recs) if (!r.hostNetwork && r.phase !== 'terminal') used.add(r.ip);
  // Namespaces still present (e.g. being torn down) also hold their IP.
  for (const ns of netnsNames) {
    const m = /^nalab-pod-(198-19-\d+-\d+)$/.exec(ns);
    if (m?.[1]) used.add(m[1].replaceAll('-', '.'));
  }
  let next = 2;
  try {
    next = (JSON.parse(readFileSync(IPAM_FILE, 'utf8')) as { next: number }).next;
  } catch {}
  for (let i = 0; i < 253; i++) {
    const oct = ((next - 2 + i) % 253) + 2;
    const ip = `198.19.${node.index}.${oct}`;
    if (!used.has(ip)) {
      writeFileSync(IPAM_FILE, JSON.stringify({ next: ((oct - 1) % 253) + 2 }));
      return ip;
    }
  }
  throw new Error(`no free pod IP on ${node.name}`);
}

export async function setupPodNetwork(rec: PodRec): Promise<void> {
  if (rec.hostNetwork) return;
  const oct = rec.ip.split('.')[3];
  const veth = `vp${oct}`;
  rec.veth = veth;
  if (await netnsExists(rec.netns)) await teardownPodNetwork(rec);
  await run('ip', ['netns', 'add', rec.netns]);
  // Few sequential steps (each a process spawn): under a pod storm on 2 cores they add up.
  const nodeSide = {
    input: [
      `link add ${veth} type veth peer name eth0 netns ${rec.netns}`,
      `link set ${veth} up`,
      `route replace ${rec.ip}/32 dev ${veth}`,
    ].join('\n'),
  };
  if ((await run('ip', ['-n', node.netns, '-batch', '-'], { ...nodeSide, check: false })).code !== 0) {
    // A stale veth of the same name (an interrupted teardown): remove it and try once more.
    await run('ip', ['-n', node.netns, 'link', 'del', veth], { check: false });
    await run('ip', ['-n', node.netns, '-batch', '-'], nodeSide);
  }
  await Promise.all([
    inNetns(rec.netns, 'sysctl', [
      '-q',
      '-w',
      'net.ipv4.ip_unprivileged_port_start=0',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]),
    run('ip', ['-n', rec.netns, '-batch', '-'], {
      input: [
        'link set lo up',
        `addr add ${rec.ip}/32 dev eth0`,
        'link set eth0 up',
        `route add ${node.ip} dev eth0 scope link`,
        // Via the node, as Calico routes a pod (169.254.1.1): one neighbour entry per pod. A device
        // route makes the pod ARP for every address it talks to, and the kernel's neighbour table is
        // shared by every netns (gc_thresh3 1024): a round's probe pods overflowed it, and the lost
        // datagrams read as UDP probes that timed out.
        `route add default via ${node.ip} dev eth0`,
      ].join('\n'),
    }),
    // proxy_delay: proxy ARP answers are otherwise delayed up to 0.8 s (the default 80 jiffies).
    inNetns(node.netns, 'sysctl', [
      '-q',
      '-w',
      `net.ipv4.conf.${veth}.proxy_arp=1`,
      `net.ipv4.neigh.${veth}.proxy_delay=0`,
    ]),
  ]);
}

export async function killNetnsProcesses(netns: string): Promise<void> {
  const inodes = labNetnsInodes();
  let ino: number | undefined;
  for (const [i, n] of inodes) if (n === netns) ino = i;
  if (ino === undefined) return;
  for (let round = 0; round < 50; round++) {
    let found = 0;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const link = statSync(`/proc/${d}/ns/net`).ino;
        if (link === ino) {
          found++;
          process.kill(Number(d), 'SIGKILL');
        }
      } catch {}
    }
    if (!found) return;
    await sleep(20);
  }
}

export async function teardownPodNetwork(rec: PodRec): Promise<void> {
  if (rec.hostNetwork) return;
  await killNetnsProcesses(rec.netns);
  // Cilium removes the endpoint (or queues the removal while its agent is down) while the veth exists.
  if (enforcer === 'cilium' && rec.veth && (await netnsExists(rec.netns))) {
    const r = await ciliumCni('DEL', node, cniPod(rec));
    if (!r.ok) L.warn({ pod: `${rec.namespace}/${rec.name}`, err: r.error }, 'CNI DEL failed');
  }
  await run('ip', ['netns', 'del', rec.netns], { check: false });
  if (rec.veth) await run('ip', ['-n', node.netns, 'link', 'del', rec.veth], { check: false });
  await run('ip', ['-n', node.netns, 'route', 'del', `${rec.ip}/32`], { check: false });
}
