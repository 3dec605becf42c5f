/**
 * Faults for the tests: stop enforcement on a node (silently, as a broken CNI would), drop one flow
 * before any policy rule sees it, and clear both.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NODES_DIR, nodeIndexOf, nodeSpec } from './config.ts';
import { kubectlGetJson, type PodLite } from './control-plane/api.ts';
import { setPolicyEnforcement } from './enforcer/cilium.ts';
import { ensureKubeRouter, flushEnforcer, waitReprogrammed } from './enforcer/kube-router.ts';
import { removeCommentedRules } from './iptables.ts';
import { stopProcess } from './procs.ts';
import { say } from './progress.ts';
import { inNetns } from './sh.ts';
import { type DropFault, type LabState, readState, updateState } from './state.ts';

function nodesArg(node: string | undefined, s: LabState): number[] {
  if (!node) return s.nodes;
  const i = nodeIndexOf(node);
  if (i === undefined || !s.nodes.includes(i))
    throw new Error(`no lab node ${node} (nodes: ${s.nodes.map((x) => nodeSpec(x).name).join(', ')})`);
  return [i];
}

export async function enforcerOff(node?: string): Promise<void> {
  const s = readState();
  for (const i of nodesArg(node, s)) {
    const n = nodeSpec(i);
    // The agent must not hold new pods back waiting for rules that will never come.
    mkdirSync(resolve(NODES_DIR, n.name), { recursive: true });
    writeFileSync(resolve(NODES_DIR, n.name, 'enforcer-off'), `${new Date().toISOString()}\n`);
    updateState((st) => {
      if (!st.faults.enforcerOff.includes(n.name)) st.faults.enforcerOff.push(n.name);
    });
    if (s.enforcer === 'cilium') {
      // Stopping the agent would not stop enforcement (its programs stay attached, pinned): a broken
      // agent that lets everything through is one whose enforcement mode is `never`.
      await setPolicyEnforcement(n.name, 'never');
      say(`${n.name}: cilium-agent policy enforcement set to never`);
      continue;
    }
    const rec = s.processes[`kube-router-${n.name}`];
    if (rec) await stopProcess(rec, 3000);
    await flushEnforcer(n.netns);
    say(`${n.name}: kube-router stopped, its rules and ipsets flushed`);
  }
}

function hostIpToNode(hostIp: string | undefined): number | undefined {
  const m = /^198\.18\.0\.(\d+)$/.exec(hostIp ?? '');
  return m ? Number(m[1]) - 10 : undefined;
}

async function getPod(ref: string): Promise<PodLite> {
  const [ns, name] = ref.split('/');
  if (!ns || !name) throw new Error(`want NS/POD, got ${ref}`);
  return (await kubectlGetJson(`/api/v1/namespaces/${ns}/pods/${name}`)) as PodLite;
}

export async function drop(from: string, to: string, port: string): Promise<void> {
  const pm = /^(\d{1,5})(?:\/(TCP|UDP|SCTP))?$/i.exec(port);
  if (!pm) throw new Error(`--port wants PORT/PROTO, got ${port}`);
  const proto = (pm[2] ?? 'TCP').toLowerCase();
  const src = await getPod(from);
  const srcIp = src.status?.podIP;
  const node = hostIpToNode(src.status?.hostIP);
  if (!srcIp || node === undefined) throw new Error(`${from} has no pod IP / node yet`);
  let dstIp: string;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(to)) dstIp = to;
  else {
    const dst = await getPod(to);
    if (!dst.status?.podIP) throw new Error(`${to} has no pod IP yet`);
    dstIp = dst.status.podIP;
  }
  const n = nodeSpec(node);
  // raw PREROUTING of the source node's netns: before conntrack and before kube-router's filter rules,
  // so an ACCEPT there cannot win over it.
  const rule = ['-s', `${srcIp}/32`, '-d', `${dstIp}/32`, '-p', proto, '--dport', pm[1] ?? ''].concat([
    '-m',
    'comment',
    '--comment',
    'nalab-fault-drop',
    '-j',
    'DROP',
  ]);
  if (
    !(await inNetns(n.netns, 'iptables', ['-w', '-t', 'raw', '-C', 'PREROUTING', ...rule], { check: false }))
      .code
  )
    return;
  await inNetns(n.netns, 'iptables', ['-w', '-t', 'raw', '-I', 'PREROUTING', '1', ...rule]);
  const fault: DropFault = {
    netns: n.netns,
    table: 'raw',
    chain: 'PREROUTING',
    rule,
    description: `${from} (${srcIp}) -> ${to} (${dstIp}) ${pm[1]}/${proto.toUpperCase()} in ${n.netns} raw PREROUTING`,
  };
  updateState((s) => {
    s.faults.drops.push(fault);
  });
  say(`drop ${fault.description}`);
}

export async function clearFaults(): Promise<void> {
  const s = readState();
  for (const i of s.nodes) await removeCommentedRules(/nalab-fault/, nodeSpec(i).netns);
  const off = [...s.faults.enforcerOff];
  updateState((st) => {
    st.faults.drops = [];
  });
  if (s.enforcer === 'cilium') {
    for (const name of off) {
      rmSync(resolve(NODES_DIR, name, 'enforcer-off'), { force: true });
      // Waits until every endpoint of the node is regenerated with enforcement back on.
      await setPolicyEnforcement(name, 'default');
      updateState((st) => {
        st.faults.enforcerOff = st.faults.enforcerOff.filter((x) => x !== name);
      });
      say(`${name}: enforcement restored`);
    }
    return;
  }
  for (const name of off) {
    const i = nodeIndexOf(name);
    if (i === undefined) continue;
    rmSync(resolve(NODES_DIR, name, 'enforcer-off'), { force: true });
    ensureKubeRouter(i);
    updateState((st) => {
      st.faults.enforcerOff = st.faults.enforcerOff.filter((x) => x !== name);
    });
  }
  // Wait until the restarted enforcers have programmed every running pod on their node again.
  for (const name of off) {
    await waitReprogrammed(name);
    say(`${name}: enforcement restored`);
  }
}
