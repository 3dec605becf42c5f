// Equivalence classes. Two pods behave identically under every policy when they share: namespace, their
// labels projected onto the keys any pod selector reads, the values of the named ports any rule mentions,
// which ipBlocks their IPs fall in (when the profile lets ipBlocks match pods), and their container ports
// (which decide the ports probed by default).
import { PROTOCOLS, type Protocol, portKey } from '../core/traffic.ts';
import { ipBlockContains } from '../policy/cidr.ts';
import { selectorKeys } from '../policy/labels.ts';
import type { ClusterSnapshot } from '../policy/snapshot.ts';
import type {
  CompiledClusterPolicy,
  CompiledIPBlock,
  CompiledPolicy,
  PeerMatcher,
  PodInfo,
} from '../policy/types.ts';

export type ClassId = string & { readonly __brand: 'ClassId' };

export interface Projection {
  readonly labelKeys: readonly string[];
  readonly namedPorts: readonly { readonly name: string; readonly protocol: Protocol }[];
  readonly ipBlocks: readonly CompiledIPBlock[];
}

export interface PodClass {
  readonly id: ClassId;
  readonly namespace: string;
  /** The features every member shares; pods are interchangeable within a class. */
  readonly key: string;
  /** A member standing for all: verdicts of the class are the verdicts of this pod. */
  readonly representative: PodInfo;
  readonly members: PodInfo[];
}

function peersOf(policy: CompiledPolicy): PeerMatcher[] {
  return [...policy.ingress, ...policy.egress].flatMap((r) =>
    r.peers.kind === 'peers' ? r.peers.peers : [],
  );
}

/**
 * What a ClusterNetworkPolicy adds to the projection: the pod selector keys of its subject and peers
 * (its namespace selectors read namespaces, which are part of the class key), its named ports under
 * every protocol (they resolve whatever the container port's protocol), its networks as ipBlocks.
 */
export function clusterProjectionItems(p: CompiledClusterPolicy): {
  keys: string[];
  named: { name: string; protocol: Protocol }[];
  blocks: CompiledIPBlock[];
} {
  const keys = [...selectorKeys(p.subject.pods)];
  const named: { name: string; protocol: Protocol }[] = [];
  const blocks: CompiledIPBlock[] = [];
  for (const rule of [...p.ingress, ...p.egress]) {
    for (const peer of rule.peers) {
      if (peer.kind === 'pods-in-namespaces') keys.push(...selectorKeys(peer.pods));
      else if (peer.kind === 'networks') blocks.push(...peer.blocks);
    }
    if (rule.ports.kind !== 'ports') continue;
    for (const m of rule.ports.ports)
      if (m.kind === 'any-protocol-named-port')
        for (const protocol of PROTOCOLS) named.push({ name: m.name, protocol });
  }
  return { keys, named, blocks };
}

export function projectionOf(
  policies: Iterable<readonly CompiledPolicy[]>,
  ipBlocksMatchPods: boolean,
  clusterPolicies: Iterable<CompiledClusterPolicy> = [],
): Projection {
  const keys = new Set<string>();
  const named = new Map<string, { name: string; protocol: Protocol }>();
  const blocks = new Map<string, CompiledIPBlock>();
  for (const p of clusterPolicies) {
    const items = clusterProjectionItems(p);
    for (const k of items.keys) keys.add(k);
    for (const n of items.named) named.set(`${n.name}/${n.protocol}`, n);
    if (ipBlocksMatchPods) for (const b of items.blocks) blocks.set(b.text, b);
  }
  for (const list of policies) {
    for (const policy of list) {
      for (const k of selectorKeys(policy.podSelector)) keys.add(k);
      for (const peer of peersOf(policy)) {
        if (peer.kind === 'ip-block') {
          if (ipBlocksMatchPods) blocks.set(peer.block.text, peer.block);
        } else {
          for (const k of selectorKeys(peer.pods)) keys.add(k);
        }
      }
      for (const rule of [...policy.ingress, ...policy.egress]) {
        if (rule.ports.kind !== 'ports') continue;
        for (const m of rule.ports.ports) {
          if (m.kind === 'named-port')
            named.set(`${m.name}/${m.protocol}`, { name: m.name, protocol: m.protocol });
        }
      }
    }
  }
  return {
    labelKeys: [...keys].sort(),
    namedPorts: [...named.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v),
    ipBlocks: [...blocks.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v),
  };
}

export function sameProjection(a: Projection, b: Projection): boolean {
  return (
    a.labelKeys.join('\0') === b.labelKeys.join('\0') &&
    a.namedPorts.map((p) => `${p.name}/${p.protocol}`).join() ===
      b.namedPorts.map((p) => `${p.name}/${p.protocol}`).join() &&
    a.ipBlocks.map((b) => b.text).join('|') === b.ipBlocks.map((x) => x.text).join('|')
  );
}

/** The features of a pod under a projection, as a string: equal strings = same class. */
export function classKey(pod: PodInfo, projection: Projection): string {
  const labels = projection.labelKeys.map((k) =>
    Object.hasOwn(pod.labels, k) ? `${k}=${pod.labels[k]}` : `!${k}`,
  );
  const named = projection.namedPorts.map(
    (n) => pod.ports.find((p) => p.name === n.name && p.protocol === n.protocol)?.port ?? '-',
  );
  const blocks =
    pod.ips.length === 0
      ? ''
      : projection.ipBlocks.map((b) => (pod.ips.some((ip) => ipBlockContains(b, ip)) ? '1' : '0')).join('');
  const ports = [...new Set(pod.ports.map(portKey))].sort().join(',');
  return `${pod.namespace}\n${labels.join(',')}\n${named.join(',')}\n${blocks}\n${ports}`;
}

/** A stable id from the class key: the same features give the same id in every run and replica. */
export function classIdOf(key: string): ClassId {
  // Two FNV-1a 32-bit hashes with different offsets give 64 bits: collisions are negligible at 100k classes.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193 + 2) >>> 0;
  }
  return `c${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0').slice(0, 4)}` as ClassId;
}

export function partition(pods: readonly PodInfo[], projection: Projection): PodClass[] {
  const byKey = new Map<string, PodClass>();
  for (const pod of pods) {
    const key = classKey(pod, projection);
    let cls = byKey.get(key);
    if (!cls) {
      cls = { id: classIdOf(key), namespace: pod.namespace, key, representative: pod, members: [] };
      byKey.set(key, cls);
    }
    cls.members.push(pod);
  }
  return [...byKey.values()].sort((a, b) =>
    a.namespace === b.namespace
      ? compareKeys(a.representative.key, b.representative.key)
      : compareKeys(a.namespace, b.namespace),
  );
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function classesOf(snapshot: ClusterSnapshot): { projection: Projection; classes: PodClass[] } {
  const projection = projectionOf(
    snapshot.policies.values(),
    snapshot.profile.ipBlockMatchesPodIPs.value,
    snapshot.clusterPolicies ?? [],
  );
  return { projection, classes: partition(snapshot.pods, projection) };
}

/**
 * The projection kept as counts of what each policy contributes (label keys, named ports, ipBlocks),
 * so a policy change rebuilds it only when an item appears or disappears, instead of re-reading every
 * policy.
 */
export class ProjectionCounter {
  private readonly keys = new Map<string, number>();
  private readonly named = new Map<string, { value: { name: string; protocol: Protocol }; n: number }>();
  private readonly blocks = new Map<string, { value: CompiledIPBlock; n: number }>();
  private readonly ipBlocksMatchPods: boolean;
  private changed = true;
  private cached: Projection = { labelKeys: [], namedPorts: [], ipBlocks: [] };

  constructor(ipBlocksMatchPods: boolean) {
    this.ipBlocksMatchPods = ipBlocksMatchPods;
  }

  /** A counter with the same counts, independent of this one. */
  clone(): ProjectionCounter {
    const c = new ProjectionCounter(this.ipBlocksMatchPods);
    for (const [k, n] of this.keys) c.keys.set(k, n);
    for (const [k, e] of this.named) c.named.set(k, { ...e });
    for (const [k, e] of this.blocks) c.blocks.set(k, { ...e });
    return c;
  }

  addCluster(policy: CompiledClusterPolicy, sign: 1 | -1): void {
    const items = clusterProjectionItems(policy);
    for (const k of items.keys) this.key(k, sign);
    for (const n of items.named) this.count(this.named, `${n.name}/${n.protocol}`, n, sign);
    if (this.ipBlocksMatchPods) for (const b of items.blocks) this.count(this.blocks, b.text, b, sign);
  }

  private key(k: string, sign: 1 | -1): void {
    const n = (this.keys.get(k) ?? 0) + sign;
    if (n <= 0) {
      this.keys.delete(k);
      this.changed = true;
    } else {
      if (!this.keys.has(k)) this.changed = true;
      this.keys.set(k, n);
    }
  }

  private count<V>(map: Map<string, { value: V; n: number }>, k: string, value: V, sign: 1 | -1): void {
    const e = map.get(k);
    const n = (e?.n ?? 0) + sign;
    if (n <= 0) {
      map.delete(k);
      this.changed = true;
    } else if (e) e.n = n;
    else {
      map.set(k, { value, n });
      this.changed = true;
    }
  }

  add(policy: CompiledPolicy, sign: 1 | -1): void {
    const count = <V>(map: Map<string, { value: V; n: number }>, k: string, value: V): void =>
      this.count(map, k, value, sign);
    const key = (k: string): void => this.key(k, sign);
    for (const k of selectorKeys(policy.podSelector)) key(k);
    for (const peer of peersOf(policy)) {
      if (peer.kind === 'ip-block') {
        if (this.ipBlocksMatchPods) count(this.blocks, peer.block.text, peer.block);
      } else for (const k of selectorKeys(peer.pods)) key(k);
    }
    for (const rule of [...policy.ingress, ...policy.egress]) {
      if (rule.ports.kind !== 'ports') continue;
      for (const m of rule.ports.ports)
        if (m.kind === 'named-port')
          count(this.named, `${m.name}/${m.protocol}`, { name: m.name, protocol: m.protocol });
    }
  }

  /** The projection now; the same object while nothing appeared or disappeared. */
  projection(): Projection {
    if (!this.changed) return this.cached;
    this.changed = false;
    this.cached = {
      labelKeys: [...this.keys.keys()].sort(),
      namedPorts: [...this.named.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => e.value),
      ipBlocks: [...this.blocks.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => e.value),
    };
    return this.cached;
  }
}
