/**
 * What every part of the node agent shares: its arguments (the node it plays), paths under
 * .lab/nodes/<node>/, its API clients and logger. Evaluated once, when the agent starts.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { ENFORCERS, type Enforcer, LAB_DIR, NODES_DIR, nodeSpec } from '../config.ts';

const log = pino({ base: { node: undefined } });

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const index = Number(arg('index'));
export const node = nodeSpec(index);
if (arg('node') && arg('node') !== node.name)
  throw new Error(`--node ${arg('node')} does not match index ${index}`);
const chosen = ENFORCERS.find((e) => e === (arg('enforcer') ?? 'kube-router'));
if (!chosen) throw new Error(`--enforcer wants ${ENFORCERS.join(' or ')}, got ${arg('enforcer')}`);
export const enforcer: Enforcer = chosen;
const kubeconfigFile = arg('kubeconfig') ?? resolve(LAB_DIR, `agent-${node.name}.kubeconfig`);
export const NODE_DIR = resolve(NODES_DIR, node.name);
export const PODS_DIR = resolve(NODE_DIR, 'pods');
export const ENFORCER_OFF = resolve(NODE_DIR, 'enforcer-off');
export const IPAM_FILE = resolve(NODE_DIR, 'ipam.json');
mkdirSync(PODS_DIR, { recursive: true });
export const L = log.child({ node: node.name });

export const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfigFile);
export const core = kc.makeApiClient(k8s.CoreV1Api);
export const coord = kc.makeApiClient(k8s.CoordinationV1Api);
export const SMP = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

export const TERMINATION_MESSAGE_CAP = 4096;
export const FALLBACK_LOG_CAP = 2048;
export const FALLBACK_LOG_LINES = 80;
export const LEASE_SECONDS = 40;
export const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function apiCode(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'number') return e.code;
  return undefined;
}

/** Set once the agent is shutting down: loops and retries stop, nothing new starts. */
export const agentState = { stopping: false };
