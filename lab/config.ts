/** Paths, names and addresses of the lab. One place, so scripts, the node agent and tests agree. */
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
export const LAB_DIR = resolve(process.env.NALAB_DIR ?? resolve(REPO, '.lab'));
export const KUBECONFIG = resolve(LAB_DIR, 'kubeconfig');
export const STATE_FILE = resolve(LAB_DIR, 'state.json');
export const LOG_DIR = resolve(LAB_DIR, 'logs');
export const PKI_DIR = resolve(LAB_DIR, 'pki');
export const NODES_DIR = resolve(LAB_DIR, 'nodes');
/** The API server's audit log (requests of netaudit's ServiceAccounts only) and its policy. */
export const AUDIT_LOG = resolve(LAB_DIR, 'logs', 'audit.log');
export const AUDIT_POLICY = resolve(LAB_DIR, 'audit-policy.yaml');
export const NODE_BIN = process.execPath;
export const NETAUDIT_BIN = resolve(REPO, 'bin/netaudit');
/**
 * The netaudit image's NODE_COMPILE_CACHE: the image carries a compile cache its user made at build,
 * so a probe pod's Node process starts without compiling every module. The lab runs the checkout as
 * that image, so it makes the same cache at `up` (Node keeps one subdirectory per uid).
 */
export const COMPILE_CACHE = resolve(LAB_DIR, 'compile-cache');
/** The netaudit image's user (its Dockerfile's USER, the Deployment's runAsUser). */
export const IMAGE_UID = 65532;
export const NETTOOL = resolve(REPO, 'lab/nettool.ts');
export const POD_EXEC = resolve(REPO, 'lab/agent/pod-exec.sh');
export const AGENT = resolve(REPO, 'lab/agent/main.ts');

/** Versions (the build cache is keyed by them; scripts/lab.d/build.sh builds them). */
export const K8S_VERSION = process.env.K8S_VERSION ?? '1.37.2';
export const KUBE_ROUTER_VERSION = process.env.KUBE_ROUTER_VERSION ?? 'v2.1.0';
export const CACHE_DIR = process.env.NETAUDIT_CACHE ?? '/var/cache/netaudit';
export const K8S_BIN = resolve(CACHE_DIR, `k8s-v${K8S_VERSION}`, 'bin');
export const KUSTOMIZE_VERSION = process.env.KUSTOMIZE_VERSION ?? 'v5.8.1';
export const KUSTOMIZE_BIN = resolve(CACHE_DIR, `kustomize-${KUSTOMIZE_VERSION}`, 'bin', 'kustomize');
export const PROM_OP_VERSION = process.env.PROM_OP_VERSION ?? 'v0.85.0';
/** The ServiceMonitor and PrometheusRule CRDs the lab installs (scripts/lab.d/build.sh fetches them). */
export const PROM_OP_CRDS = resolve(CACHE_DIR, `prometheus-operator-${PROM_OP_VERSION}`, 'crds');
export const KUBE_ROUTER_BIN = resolve(CACHE_DIR, `kube-router-${KUBE_ROUTER_VERSION}`, 'bin', 'kube-router');

/** The enforcer of NetworkPolicy on every node of a lab: one per lab, chosen at `up`. */
export type Enforcer = 'kube-router' | 'cilium';
export const ENFORCERS: readonly Enforcer[] = ['kube-router', 'cilium'];
export const CILIUM_VERSION = process.env.CILIUM_VERSION ?? 'v1.20.2';
/** cilium-agent, cilium-cni, cilium-dbg; bpf/ (datapath sources); crds/ (scripts/lab.d/build.sh cilium). */
export const CILIUM_CACHE = resolve(CACHE_DIR, `cilium-${CILIUM_VERSION}`);
export const CILIUM_BIN = resolve(CILIUM_CACHE, 'bin');
/** Per node: bpffs/ (its own bpffs instance), run/ (bound on /run/cilium for its agent), lib/, logs. */
export const CILIUM_LAB_DIR = resolve(LAB_DIR, 'cilium');
export const ciliumNodeDir = (node: string) => resolve(CILIUM_LAB_DIR, node);
export const ciliumSocket = (node: string) => resolve(ciliumNodeDir(node), 'run', 'cilium.sock');

/** Addresses: only 198.18.0.0/15 (nodes, pods) and 203.0.113.0/24 (external stand-ins). */
export const LAB_RANGES = ['198.18.0.0/15', '203.0.113.0/24'] as const;
/**
 * The host gets an unreachable route for the whole node/pod range, but for TEST-NET-3 only per stand-in
 * (/32): this sandbox reaches its package registries at 203.0.113.80 through the uplink.
 */
export const HOST_UNREACHABLE = '198.18.0.0/15';
export const BRIDGE = 'nalab0';
export const HOST_IP = '198.18.0.1';
export const BRIDGE_PREFIX = 24;
export const API_PORT = 6443;
export const API_SERVER = `https://${HOST_IP}:${API_PORT}`;
export const ETCD_CLIENT = 'http://127.0.0.1:2379';
export const ETCD_PEER = 'http://127.0.0.1:2380';
/** Allocated only (never routed, never probed); inside the lab's own 198.18.0.0/15 like every lab address. */
export const SERVICE_CIDR = '198.18.16.0/20';
export const MAX_NODES = 80;

export interface NodeSpec {
  readonly index: number;
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly podCidr: string;
  readonly hostVeth: string;
}

export function nodeSpec(index: number): NodeSpec {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) throw new Error(`bad node index ${index}`);
  return {
    index,
    name: `nalab-node-${index}`,
    netns: `nalab-node-${index}`,
    ip: `198.18.0.${10 + index}`,
    podCidr: `198.19.${index}.0/24`,
    hostVeth: `nalab-n${index}`,
  };
}

export function nodeIndexOf(name: string): number | undefined {
  const m = /^nalab-node-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The network namespace of a pod follows from its IP, so anyone can find it (also after a restart). */
export function podNetns(podIp: string): string {
  return `nalab-pod-${podIp.replaceAll('.', '-')}`;
}

export interface ExternalSpec {
  readonly ip: string;
  readonly netns: string;
  readonly bridgeIp: string;
  readonly hostVeth: string;
}

/** A stand-in for an external host: 203.0.113.X, its own netns, bridge address 198.18.0.(100+k). */
export function externalSpec(ip: string, k: number): ExternalSpec {
  const m = /^203\.0\.113\.(\d{1,3})$/.exec(ip);
  const oct = m ? Number(m[1]) : Number.NaN;
  if (!(oct >= 1 && oct <= 254)) throw new Error(`external stand-in ${ip} must be in 203.0.113.0/24`);
  if (k < 1 || k > 150) throw new Error('too many external stand-ins');
  return { ip, netns: `nalab-ext-${oct}`, bridgeIp: `198.18.0.${100 + k}`, hostVeth: `nalab-x${oct}` };
}

/** Stand-ins created by default: 203.0.113.8 stands in for the seed's public DNS address; .9 is a second host. */
export const DEFAULT_EXTERNALS = ['203.0.113.8', '203.0.113.9'];
/** Ports every stand-in (and the lab tool's default server) listens on. */
export const EXTERNAL_PORTS = [
  '80/TCP',
  '443/TCP',
  '8080/TCP',
  '32000/TCP',
  '32768/TCP',
  '53/UDP',
  '80/UDP',
  '443/UDP',
];

export function isLabAddress(ip: string): boolean {
  return (
    /^198\.1[89]\.\d{1,3}\.\d{1,3}$/.test(ip) || /^203\.0\.113\.\d{1,3}$/.test(ip) || ip.startsWith('127.')
  );
}
