/** `status`: each process up or down, nodes Ready, enforcer health, stand-ins and faults. */
import { existsSync } from 'node:fs';
import { EXTERNAL_PORTS, KUBECONFIG, nodeSpec } from './config.ts';
import { readyNodes } from './control-plane/api.ts';
import { ciliumHealth } from './enforcer/cilium.ts';
import { isAlive } from './procs.ts';
import { readState } from './state.ts';

export async function status(): Promise<number> {
  const s = readState();
  const lines: string[] = [];
  let allUp = Object.keys(s.processes).length > 0;
  for (const [name, rec] of Object.entries(s.processes)) {
    const alive = isAlive(rec);
    const off = name.startsWith('kube-router-') && s.faults.enforcerOff.includes(name.slice(12));
    if (!alive && !off) allUp = false;
    lines.push(
      `${alive ? 'up  ' : off ? 'off ' : 'down'}  ${name.padEnd(36)} ${alive ? `pid ${rec.pid}` : off ? '(fault enforcer-off)' : ''}`,
    );
  }
  if (!lines.length) lines.push('down  (no lab: run scripts/lab up)');
  let nodesLine = '';
  if (allUp) {
    try {
      const ready = await readyNodes();
      nodesLine = s.nodes
        .map((i) => `${nodeSpec(i).name}=${ready.has(nodeSpec(i).name) ? 'Ready' : 'NotReady'}`)
        .join(' ');
    } catch (e) {
      nodesLine = `API not answering: ${(e as Error).message}`;
      allUp = false;
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (s.nodes.length) {
    process.stdout.write(
      `nodes     ${s.nodes.map((i) => `${nodeSpec(i).name} ${nodeSpec(i).ip} pods ${nodeSpec(i).podCidr}`).join('; ')}\n`,
    );
  }
  if (nodesLine) process.stdout.write(`ready     ${nodesLine}\n`);
  const enforcer = s.enforcer ?? 'kube-router';
  if (s.nodes.length) {
    const health: string[] = [];
    for (const i of s.nodes) {
      const n = nodeSpec(i);
      const off = s.faults.enforcerOff.includes(n.name) ? ' [fault enforcer-off]' : '';
      if (enforcer === 'cilium') {
        const h = await ciliumHealth(n.name);
        if (!h.ok) allUp = false;
        health.push(`${n.name} ${h.summary}${off}`);
      } else {
        const rec = s.processes[`kube-router-${n.name}`];
        health.push(`${n.name} kube-router ${isAlive(rec) ? 'running' : 'stopped'}${off}`);
      }
    }
    process.stdout.write(`enforcer  ${enforcer}: ${health.join('; ')}\n`);
  }
  if (s.externals.length)
    process.stdout.write(`externals ${s.externals.join(' ')} (ports ${EXTERNAL_PORTS.join(' ')})\n`);
  if (s.faults.enforcerOff.length)
    process.stdout.write(`fault     enforcer-off on ${s.faults.enforcerOff.join(' ')}\n`);
  for (const d of s.faults.drops) process.stdout.write(`fault     drop ${d.description}\n`);
  if (existsSync(KUBECONFIG)) process.stdout.write(`kubeconfig ${KUBECONFIG}\n`);
  return allUp ? 0 : 1;
}
