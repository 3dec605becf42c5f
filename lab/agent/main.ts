#!/usr/bin/env node
/**
 * The lab's node agent (one process per node, on the host): registers its Node, keeps its Lease
 * fresh, and realises each pod bound to the node as a network namespace + routed veth with a /32 from
 * the node's pod range, running the container command as a local process in it, only after
 * kube-router has programmed the pod's rules in the node's netns. Writes real pod status.
 * State per pod lives in .lab/nodes/<node>/pods/<uid>/ so a restarted agent re-adopts running pods.
 *
 *   node lab/agent/main.ts --node nalab-node-1 --index 1 --kubeconfig .lab/agent-nalab-node-1.kubeconfig
 */
import { sleep } from '../sh.ts';
import { agentState, L, node } from './context.ts';
import { every, patchNodeStatus, registerNode, renewLease } from './node-status.ts';
import { loadSavedRecs, startInformer, stopInformer, sweepOrphans } from './watch.ts';

async function main(): Promise<void> {
  L.info({ ip: node.ip, podCidr: node.podCidr }, 'node agent starting');
  loadSavedRecs();
  for (;;) {
    try {
      await registerNode();
      await renewLease();
      break;
    } catch (e) {
      L.warn({ err: String(e) }, 'cannot register node yet; retrying');
      await sleep(1000);
    }
  }
  every(10_000, 'lease renewal', renewLease);
  every(30_000, 'node status', patchNodeStatus);
  await startInformer();
  await sweepOrphans();
  L.info('node agent ready');
}

async function shutdown(sig: string): Promise<void> {
  if (agentState.stopping) return;
  agentState.stopping = true;
  L.info({ sig }, 'node agent stopping (pods keep running; a restarted agent re-adopts them)');
  await stopInformer();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((e: unknown) => {
  L.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'node agent failed');
  process.exit(1);
});
