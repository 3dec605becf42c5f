// What a change to the manifests opens and closes. The base is loaded once into an engine; the
// head's differences are applied to a fork of it as incremental updates, whose `Change`s name the
// classes that can differ. Only flows with an affected end are compared, so a change to one policy
// costs about one analysis, not two full matrices.
//
// Pods are compared by their pair of classes (base class, head class): pods with the same pair
// behave alike on both sides. A pair is affected as a source when its head class is one a change
// names as a source (or appeared), or when the pod changed class (its labels changed what selects
// it); likewise as a destination. A pod that exists on one side only is listed apart.
import { isDeepStrictEqual } from 'node:util';
import type { ClusterNetworkPolicy, Namespace, NetworkPolicy, Pod } from '../core/k8s.ts';
import type { PortSpec } from '../core/traffic.ts';
import { portKey } from '../core/traffic.ts';
import type { CniProfile } from '../policy/profiles.ts';
import type { SnapshotInput } from '../policy/snapshot.ts';
import type { PodInfo, Verdict } from '../policy/types.ts';
import type { PodFlow } from './cells.ts';
import {
  type Change,
  type Destination,
  type EngineOptions,
  ExpectationEngine,
  type ExpectClass,
} from './engine.ts';
import { sortPorts } from './ports.ts';

export interface FlowChange extends PodFlow {
  readonly before: Verdict;
  readonly after: Verdict;
}

export interface DiffResult {
  readonly base: ExpectationEngine;
  readonly head: ExpectationEngine;
  /** Pods only in the head or only in the base (their flows are new or gone, not changed). */
  readonly addedPods: readonly string[];
  readonly removedPods: readonly string[];
  /** Class pairs compared (affected ones only), for the record. */
  readonly comparedCells: number;
  changes(): Generator<FlowChange>;
}

interface Joint {
  readonly base: ExpectClass;
  readonly head: ExpectClass;
  readonly members: PodInfo[];
}

const keyOf = (o: { metadata: { namespace?: string | undefined; name?: string | undefined } }): string =>
  `${o.metadata.namespace ?? 'default'}/${o.metadata.name ?? ''}`;

export function diffAnalyses(
  baseInput: SnapshotInput,
  headInput: SnapshotInput,
  profile: CniProfile,
  options: EngineOptions,
): DiffResult {
  const base = ExpectationEngine.from(baseInput, profile, options);
  const head = base.fork();
  const changes = applyDifferences(head, baseInput, headInput);

  const repartitioned = changes.some((c) => c.repartitioned);
  const sources = new Set<string>();
  const destinations = new Set<string>();
  let externals = repartitioned;
  for (const c of changes) {
    for (const id of [...c.sources, ...c.classesAdded]) sources.add(id);
    for (const id of [...c.destinations, ...c.classesAdded]) destinations.add(id);
    if (c.externals) externals = true;
  }

  // Pods on both sides, grouped by (base class, head class).
  const joints = new Map<string, Joint>();
  const addedPods: string[] = [];
  const removedPods: string[] = [];
  for (const cls of head.classes()) {
    for (const pod of cls.members) {
      const before = base.classOf(pod.namespace, pod.name);
      if (!before) {
        addedPods.push(pod.key);
        continue;
      }
      const k = `${before.id} ${cls.id}`;
      let j = joints.get(k);
      if (!j) {
        j = { base: before, head: cls, members: [] };
        joints.set(k, j);
      }
      j.members.push(pod);
    }
  }
  for (const cls of base.classes())
    for (const pod of cls.members) if (!head.classOf(pod.namespace, pod.name)) removedPods.push(pod.key);
  const all = [...joints.values()];
  const moved = (j: Joint) => j.base.key !== j.head.key;
  const asSource = all.filter((j) => repartitioned || moved(j) || sources.has(j.head.id));
  const asDestination = all.filter((j) => repartitioned || moved(j) || destinations.has(j.head.id));
  const sourceSet = new Set(asSource);
  const externalTargets = head.externals();
  const comparedCells =
    asSource.length * (all.length + externalTargets.length) +
    (all.length - asSource.length) * (asDestination.length + (externals ? externalTargets.length : 0));

  /** One end to compare towards: its destination on each side and the ports of either side. */
  interface Target {
    readonly bd: Destination;
    readonly hd: Destination;
    readonly ports: readonly PortSpec[];
    readonly to: readonly FlowChange['to'][];
  }
  const targetOf = (b: Destination, h: Destination, to: FlowChange['to'][]): Target => ({
    bd: b,
    hd: h,
    ports: unionPorts(base.portsOf(b), head.portsOf(h)),
    to,
  });
  const podTargets = new Map<Joint, Target>();
  const podTarget = (dst: Joint): Target => {
    let t = podTargets.get(dst);
    if (!t) {
      const to = dst.members.map((pod) => ({ kind: 'pod' as const, pod }));
      t = targetOf(destinationOf(base, dst.base), destinationOf(head, dst.head), to);
      podTargets.set(dst, t);
    }
    return t;
  };
  const externalTargetList: Target[] = [];
  for (const target of externalTargets) {
    const bd = base.destinationOf(`ip:${target.text}`);
    const hd = head.destinationOf(`ip:${target.text}`);
    if (bd && hd) externalTargetList.push(targetOf(bd, hd, [{ kind: 'external', text: target.text }]));
  }

  /** The ports on which a source's verdict towards a target differs (most pairs: none). */
  const differing = (src: Joint, t: Target): readonly PortSpec[] => {
    let out: PortSpec[] | undefined;
    for (const p of t.ports) {
      if (base.allows(src.base, t.bd, p.port, p.protocol) === head.allows(src.head, t.hd, p.port, p.protocol))
        continue;
      out ??= [];
      out.push(p);
    }
    return out ?? NONE;
  };

  /** The changed flows from a source to targets; pairs without a differing port cost no allocation. */
  function* towards(src: Joint, targets: Iterable<Target>): Generator<FlowChange> {
    for (const t of targets) {
      const ports = differing(src, t);
      for (const p of ports) {
        const cell = {
          port: p.port,
          protocol: p.protocol,
          before: base.verdict(src.base, t.bd, p.port, p.protocol),
          after: head.verdict(src.head, t.hd, p.port, p.protocol),
        };
        for (const from of src.members)
          for (const to of t.to)
            if (to.kind === 'external' || from.key !== to.pod.key) yield { from, to, ...cell };
      }
    }
  }

  function* changesOf(): Generator<FlowChange> {
    // Ports of a destination cost a lookup per class: only for the destinations compared.
    const allTargets = asSource.length > 0 ? all.map(podTarget) : [];
    for (const src of asSource) {
      yield* towards(src, allTargets);
      yield* towards(src, externalTargetList);
    }
    const destinationTargets = asDestination.map(podTarget);
    for (const src of all) {
      if (sourceSet.has(src)) continue;
      yield* towards(src, destinationTargets);
      if (externals) yield* towards(src, externalTargetList);
    }
  }

  return {
    base,
    head,
    addedPods: addedPods.sort(),
    removedPods: removedPods.sort(),
    comparedCells,
    changes: changesOf,
  };
}

const NONE: readonly PortSpec[] = [];

function destinationOf(engine: ExpectationEngine, cls: ExpectClass): Destination {
  return engine.destinationOf(cls.id) ?? { kind: 'class', id: cls.id, cls, endpoint: cls.endpoint };
}

function unionPorts(a: readonly PortSpec[], b: readonly PortSpec[]): PortSpec[] {
  if (a === b) return [...a];
  const seen = new Set(a.map(portKey));
  return b.every((p) => seen.has(portKey(p))) && a.length === b.length ? [...a] : sortPorts([...a, ...b]);
}

/** Applies to `engine` (loaded with `base`) what differs in `head`; returns each update's Change. */
function applyDifferences(engine: ExpectationEngine, base: SnapshotInput, head: SnapshotInput): Change[] {
  const out: Change[] = [];
  // Objects read once for both sides are the same object.
  const same = (a: unknown, b: unknown) => a === b || isDeepStrictEqual(a, b);
  const byKey = <T extends { metadata: { namespace?: string | undefined; name?: string | undefined } }>(
    list: readonly T[],
    key: (o: T) => string,
  ) => new Map(list.map((o) => [key(o), o]));
  const nsKey = (n: Namespace) => n.metadata.name ?? '';
  const baseNs = byKey(base.namespaces, nsKey);
  for (const n of head.namespaces) if (!same(baseNs.get(nsKey(n)), n)) out.push(engine.upsertNamespace(n));
  const headNs = byKey(head.namespaces, nsKey);
  for (const n of base.namespaces) if (!headNs.has(nsKey(n))) out.push(engine.deleteNamespace(nsKey(n)));

  const basePolicies = byKey<NetworkPolicy>(base.policies, keyOf);
  const headPolicies = byKey<NetworkPolicy>(head.policies, keyOf);
  for (const [k, p] of headPolicies) if (!same(basePolicies.get(k), p)) out.push(engine.upsertPolicy(p));
  for (const [k, p] of basePolicies)
    if (!headPolicies.has(k))
      out.push(engine.deletePolicy(p.metadata.namespace ?? 'default', p.metadata.name ?? ''));

  const cnpKey = (p: ClusterNetworkPolicy) => p.metadata.name ?? '';
  const baseCnps = byKey(base.clusterPolicies ?? [], cnpKey);
  const headCnps = byKey(head.clusterPolicies ?? [], cnpKey);
  for (const [k, p] of headCnps) if (!same(baseCnps.get(k), p)) out.push(engine.upsertClusterPolicy(p));
  for (const k of baseCnps.keys()) if (!headCnps.has(k)) out.push(engine.deleteClusterPolicy(k));

  const basePods = byKey<Pod>(base.pods, keyOf);
  const headPods = byKey<Pod>(head.pods, keyOf);
  for (const [k, p] of headPods) if (!same(basePods.get(k), p)) out.push(engine.upsertPod(p));
  for (const [k, p] of basePods)
    if (!headPods.has(k))
      out.push(engine.deletePod(p.metadata.namespace ?? 'default', p.metadata.name ?? ''));
  return out;
}
