/**
 * The lab's network between nodes: the host bridge, one netns per node (routes to the other nodes'
 * pod ranges and to the stand-ins), and one netns per external stand-in running the lab's nettool.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  BRIDGE,
  BRIDGE_PREFIX,
  EXTERNAL_PORTS,
  externalSpec,
  HOST_IP,
  NETTOOL,
  NODE_BIN,
  NODES_DIR,
  nodeSpec,
} from './config.ts';
import { ensureProcess } from './procs.ts';
import { inNetns, linkExists, netnsExists, run, tryRun } from './sh.ts';

export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await tryRun('sysctl', ['-q', '-w', `net.ipv6.conf.${BRIDGE}.disable_ipv6=1`]);
  await run('ip', ['addr', 'replace', `${HOST_IP}/${BRIDGE_PREFIX}`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  // Bridged frames go through the host's FORWARD chain (br_netfilter): let lab-to-lab traffic pass
  // even where the host's FORWARD policy is DROP. The uplink drops above stay first.
  const rule = ['-i', BRIDGE, '-o', BRIDGE, '-m', 'comment', '--comment', 'nalab-bridge', '-j', 'ACCEPT'];
  if (!(await tryRun('iptables', ['-w', '-C', 'FORWARD', ...rule])))
    await run('iptables', ['-w', '-A', 'FORWARD', ...rule]);
}

async function ensureVethToBridge(netns: string, hostVeth: string, ip: string): Promise<void> {
  if (!(await netnsExists(netns))) await run('ip', ['netns', 'add', netns]);
  await inNetns(netns, 'sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
  if (!(await linkExists('eth0', netns))) {
    await run('ip', ['link', 'del', hostVeth], { check: false });
    await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  }
  await tryRun('sysctl', ['-q', '-w', `net.ipv6.conf.${hostVeth}.disable_ipv6=1`]);
  await run('ip', ['link', 'set', hostVeth, 'master', BRIDGE, 'up']);
  await run('ip', ['-n', netns, '-batch', '-'], {
    input: ['link set lo up', `addr replace ${ip}/${BRIDGE_PREFIX} dev eth0`, 'link set eth0 up'].join('\n'),
  });
}

export async function ensureNode(index: number, all: number[], externals: string[]): Promise<void> {
  const n = nodeSpec(index);
  await ensureVethToBridge(n.netns, n.hostVeth, n.ip);
  await inNetns(n.netns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  const lines: string[] = [];
  for (const j of all)
    if (j !== index) lines.push(`route replace ${nodeSpec(j).podCidr} via ${nodeSpec(j).ip}`);
  externals.forEach((ip, k) => {
    lines.push(`route replace ${ip}/32 via ${externalSpec(ip, k + 1).bridgeIp}`);
  });
  if (lines.length) await run('ip', ['-n', n.netns, '-batch', '-'], { input: lines.join('\n') });
  // The host (where the API server listens) routes the node's pods via the node, as a control-plane
  // node routes pod CIDRs: pods that talk to the API server (netaudit's Deployment) get their replies.
  // More specific than the host's unreachable 198.18.0.0/15, it leads only into the lab's own netns,
  // and it goes away with the bridge.
  await run('ip', ['route', 'replace', n.podCidr, 'via', n.ip]);
  mkdirSync(resolve(NODES_DIR, n.name, 'pods'), { recursive: true });
}

export async function ensureExternal(ip: string, k: number, nodes: number[]): Promise<void> {
  const e = externalSpec(ip, k);
  await ensureVethToBridge(e.netns, e.hostVeth, e.bridgeIp);
  await run('ip', ['-n', e.netns, 'addr', 'replace', `${ip}/32`, 'dev', 'eth0']);
  // Replies (also UDP from a socket bound to 0.0.0.0) must come from the stand-in's 203.0.113.X.
  const lines = nodes.map((j) => `route replace ${nodeSpec(j).podCidr} via ${nodeSpec(j).ip} src ${ip}`);
  if (lines.length) await run('ip', ['-n', e.netns, '-batch', '-'], { input: lines.join('\n') });
  const ports = EXTERNAL_PORTS.flatMap((p) => ['--port', p]);
  ensureProcess(
    `external-${ip}`,
    [NODE_BIN, '--disable-warning=ExperimentalWarning', NETTOOL, 'serve', ...ports],
    { netns: e.netns, env: { ...process.env, HOSTNAME: `external-${ip}` } },
  );
}
