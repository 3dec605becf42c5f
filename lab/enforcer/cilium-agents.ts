/** Cilium agents for `up --enforcer cilium`: one per node, started in turn, and their templates warmed. */

import { nodeSpec } from '../config.ts';
import type { PodLite } from '../control-plane/api.ts';
import { kubeconfigFor } from '../control-plane/pki.ts';
import { LAB_TOOL_IMAGE } from '../image.ts';
import { ensureProcess, isAlive } from '../procs.ts';
import { say } from '../progress.ts';
import { waitFor } from '../sh.ts';
import { readState } from '../state.ts';
import {
  apiRequest,
  applyCiliumCrds,
  ciliumAgentCommand,
  ciliumHealth,
  type PolicyMode,
  prepareCiliumNode,
} from './cilium.ts';

const ciliumAgentName = (index: number) => `cilium-agent-${nodeSpec(index).name}`;

/**
 * One agent per node, started one at a time after the Nodes exist: each compiles its datapath under
 * one shared 300 s deadline, so two compiling at once on a small machine would share that budget.
 */
export async function ensureCiliumAgents(nodes: number[]): Promise<void> {
  const started: number[] = [];
  if (nodes.every((i) => isAlive(readState().processes[ciliumAgentName(i)]))) return;
  say('Cilium CRDs');
  await applyCiliumCrds();
  for (const i of nodes) {
    const n = nodeSpec(i);
    const name = ciliumAgentName(i);
    await prepareCiliumNode(n);
    const mode: PolicyMode = readState().faults.enforcerOff.includes(n.name) ? 'never' : 'default';
    const { argv, env } = ciliumAgentCommand(n, kubeconfigFor('cilium'), mode);
    if (ensureProcess(name, argv, { netns: n.netns, env })) started.push(i);
    say(`waiting for ${name} (the first start compiles its datapath)`);
    await waitFor(
      `${name} healthy`,
      async () => {
        const rec = readState().processes[name];
        if (!isAlive(rec)) throw new Error(`${name} exited; see ${rec?.log}`);
        return (await ciliumHealth(n.name)).ok;
      },
      300_000,
      250,
    );
  }
  await warmCiliumTemplates(started);
}

/**
 * A fresh agent compiles its endpoint program template (`bpf_lxc.c`) at its first endpoint, and that
 * pod would wait seconds longer than every later one. On a real node Cilium's own health endpoint
 * pays that at agent start (here health checks are off: delegated IPAM has no address for it), so
 * `up` runs one short pod per freshly started agent and deletes it: the template is then built.
 */
async function warmCiliumTemplates(nodes: number[]): Promise<void> {
  if (!nodes.length) return;
  say(`warming Cilium's endpoint template on ${nodes.length} node(s)`);
  const ns = 'kube-system';
  await Promise.all(
    nodes.map(async (i) => {
      const n = nodeSpec(i);
      const name = `nalab-warmup-${n.name}`;
      const path = `/api/v1/namespaces/${ns}/pods`;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec: {
          nodeName: n.name,
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'warmup', image: LAB_TOOL_IMAGE, command: ['nettool', 'exit'] }],
        },
      };
      // The namespace's default ServiceAccount may not exist yet on a fresh control plane: retry.
      await waitFor(
        `warm-up pod on ${n.name} created`,
        async () => {
          const r = await apiRequest('POST', path, JSON.stringify(pod));
          if (r.status === 409) return true;
          if (r.status >= 300) throw new Error(`${r.status} ${r.body.slice(0, 200)}`);
          return true;
        },
        60_000,
        250,
      );
      await waitFor(
        `warm-up pod on ${n.name} started (CNI ADD done)`,
        async () => {
          const p = JSON.parse((await apiRequest('GET', `${path}/${name}`)).body) as PodLite;
          const phase = p.status?.phase;
          if (phase === 'Failed')
            throw new Error(`warm-up pod failed on ${n.name}: see the node agent's log`);
          return phase === 'Running' || phase === 'Succeeded';
        },
        300_000,
        200,
      );
      await apiRequest('DELETE', `${path}/${name}`, JSON.stringify({ gracePeriodSeconds: 0 }));
      await waitFor(
        `warm-up pod on ${n.name} gone`,
        async () => (await apiRequest('GET', `${path}/${name}`)).status === 404,
        60_000,
        200,
      );
    }),
  );
}
