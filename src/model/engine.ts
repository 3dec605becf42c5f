// The incremental engine the controller uses: objects are added, changed and removed one at a time,
// and each change answers which classes and which verdicts changed. Only the rows and columns of the
// classes a change can affect are evaluated (before and after), never the whole matrix.
//
// What a change can affect:
//   pod        -> its old and new class only. Moving into an existing class changes no verdict;
//                 a new class adds its row and column; an emptied class removes them.
//   namespace  -> (labels) every class in it, as a peer: their rows and columns.
//   policy     -> the classes of its namespace it selects (old or new version): their rows (egress)
//                 and columns (ingress); plus, when its rules name numeric ports, the port lists of
//                 the destinations it reaches. If the policy changes the projection (a new label key,
//                 named port or ipBlock), every pod is re-partitioned: `repartitioned` is set.

import { compilePolicy } from '../policy/compile.ts';
import { type EvalContext, evaluate, peerMatches } from '../policy/evaluate.ts';
import { selectorMatches } from '../policy/labels.ts';
import type { CniProfile } from '../policy/profiles.ts';
import type {
  CompiledPolicy,
  CompiledRule,
  Direction,
  Endpoint,
  NamespaceInfo,
  PodInfo,
  PodKey,
  Verdict,
} from '../policy/types.ts';
import { podKey } from '../policy/types.ts';
import {
  type ClassId,
  classIdOf,
  classKey,
  type PodClass,
  type Projection,
  projectionOf,
  sameProjection,
} from './classes.ts';
import type { ObjectIssue, SnapshotInput } from './cluster.ts';
import { namespaceInfo, podInfo } from './cluster.ts';
import { type Labels, NAMESPACE_NAME_LABEL, type Namespace, type NetworkPolicy, type Pod } from './k8s.ts';
import {
  type ClassMatrix,
  computeMatrix,
  defaultPortsFor,
  type MatrixOptions,
  type PortSpec,
  sortPorts,
  type TargetId,
  verdictSignature,
} from './matrix.ts';

export interface VerdictChange {
  readonly from: ClassId;
  readonly to: TargetId;
  readonly port: number;
  readonly protocol: PortSpec['protocol'];
  readonly before: Verdict | undefined;
  readonly after: Verdict | undefined;
}

export interface Change {
  readonly classesAdded: readonly ClassId[];
  readonly classesRemoved: readonly ClassId[];
  /** Classes whose members changed (a pod joined or left) without a verdict change. */
  readonly membersChanged: readonly ClassId[];
  readonly verdictsChanged: readonly VerdictChange[];
  /** The projection changed: every class was rebuilt; treat every verdict as changed. */
  readonly repartitioned: boolean;
  readonly issues: readonly ObjectIssue[];
}

const NO_CHANGE: Change = Object.freeze({
  classesAdded: [],
  classesRemoved: [],
  membersChanged: [],
  verdictsChanged: [],
  repartitioned: false,
  issues: [],
});

interface MutableClass extends PodClass {
  readonly members: PodInfo[];
  representative: PodInfo;
}

type Evaluated = Map<string, { from: ClassId; to: TargetId; port: PortSpec; verdict: Verdict }>;

export class IncrementalEngine {
  readonly profile: CniProfile;
  private readonly options: MatrixOptions;
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly pods = new Map<PodKey, PodInfo>();
  private readonly policies = new Map<string, Map<string, CompiledPolicy>>();
  private readonly policyLists = new Map<string, CompiledPolicy[]>();
  private allPolicies: CompiledPolicy[] = [];
  private projection: Projection = { labelKeys: [], namedPorts: [], ipBlocks: [] };
  private readonly classesByKey = new Map<string, MutableClass>();
  private readonly classOfPod = new Map<PodKey, string>();
  private portCache = new Map<string, PortSpec[]>();
  private memo = new WeakMap<PodInfo, Partial<Record<Direction, CompiledPolicy[]>>>();
  readonly ctx: EvalContext;
  /** What `from` skipped (a policy that does not compile), for the caller to report. */
  readonly loadIssues: ObjectIssue[] = [];

  constructor(profile: CniProfile, options: MatrixOptions = {}) {
    this.profile = profile;
    this.options = options;
    const self = this;
    this.ctx = {
      profile,
      policiesIn: (ns) => self.policyLists.get(ns) ?? [],
      namespaceLabels: (ns): Labels => self.namespaces.get(ns)?.labels ?? { [NAMESPACE_NAME_LABEL]: ns },
      get selectionMemo() {
        return self.memo;
      },
    };
  }

  /** Bulk load without computing per-change diffs. Objects it cannot use are in `loadIssues`. */
  static from(input: SnapshotInput, profile: CniProfile, options: MatrixOptions = {}): IncrementalEngine {
    const engine = new IncrementalEngine(profile, options);
    for (const ns of input.namespaces) engine.namespaces.set(ns.metadata.name ?? '', namespaceInfo(ns));
    for (const np of input.policies) {
      const c = compilePolicy(np);
      if (c.ok) engine.setPolicy(c.policy);
      else {
        const namespace = np.metadata.namespace ?? 'default';
        const name = np.metadata.name ?? '';
        for (const i of c.issues)
          engine.loadIssues.push({ ...i, kind: 'NetworkPolicy', namespace, name, severity: 'error' });
      }
    }
    engine.refreshPolicyLists();
    engine.projection = projectionOf(engine.policyLists.values(), profile.ipBlockMatchesPodIPs.value);
    for (const pod of input.pods) {
      const c = podInfo(pod, profile);
      if (c.kind === 'pod') {
        engine.pods.set(c.pod.key, c.pod);
        engine.place(c.pod);
      } else if (c.kind === 'invalid') {
        for (const i of c.issues)
          engine.loadIssues.push({
            ...i,
            kind: 'Pod',
            namespace: pod.metadata.namespace,
            name: pod.metadata.name ?? '',
            severity: 'error',
          });
      }
    }
    return engine;
  }

  classes(): PodClass[] {
    return [...this.classesByKey.values()].sort((a, b) =>
      a.namespace === b.namespace
        ? compare(a.representative.key, b.representative.key)
        : compare(a.namespace, b.namespace),
    );
  }

  classOf(namespace: string, name: string): PodClass | undefined {
    const key = this.classOfPod.get(podKey(namespace, name));
    return key === undefined ? undefined : this.classesByKey.get(key);
  }

  /** The full matrix of the current state. */
  matrix(): ClassMatrix {
    return computeMatrix(this.ctx, this.classes(), this.allPolicies, this.options);
  }

  // ---- pods ----

  upsertPod(pod: Pod): Change {
    const c = podInfo(pod, this.profile);
    const key = podKey(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    if (c.kind === 'invalid') {
      const removed = this.deletePod(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
      const issues = c.issues.map(
        (i): ObjectIssue => ({
          ...i,
          kind: 'Pod',
          namespace: pod.metadata.namespace,
          name: pod.metadata.name ?? '',
          severity: 'error',
        }),
      );
      return { ...removed, issues };
    }
    if (c.kind === 'excluded')
      return this.deletePod(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    const info = c.pod;
    const oldClassKey = this.classOfPod.get(key);
    const newClassKey = classKey(info, this.projection);
    if (!this.namespaces.has(info.namespace)) this.implyNamespace(info.namespace);
    if (oldClassKey === newClassKey) {
      // Same class: swap the member in place (labels outside the projection, status, node...).
      this.removeMember(key, oldClassKey);
      this.pods.set(key, info);
      this.place(info);
      return { ...NO_CHANGE, membersChanged: [classIdOf(newClassKey)] };
    }
    const before = this.classesByKey.has(newClassKey);
    const removed = oldClassKey !== undefined ? this.removeMember(key, oldClassKey) : undefined;
    // The emptied class's verdicts are those it had before the pod landed in its new class.
    const verdictsChanged: VerdictChange[] = removed ? this.classVerdicts(removed, 'removed') : [];
    this.pods.set(key, info);
    this.place(info);
    const added = before ? undefined : (this.classesByKey.get(newClassKey) as MutableClass);
    if (added) verdictsChanged.push(...this.classVerdicts(added, 'added'));
    return {
      ...NO_CHANGE,
      classesAdded: added ? [added.id] : [],
      classesRemoved: removed ? [removed.id] : [],
      membersChanged: [
        ...(oldClassKey !== undefined && !removed ? [classIdOf(oldClassKey)] : []),
        ...(before ? [classIdOf(newClassKey)] : []),
      ],
      verdictsChanged,
    };
  }

  deletePod(namespace: string, name: string): Change {
    const key = podKey(namespace, name);
    const ck = this.classOfPod.get(key);
    if (ck === undefined) return NO_CHANGE;
    const removed = this.removeMember(key, ck);
    this.pods.delete(key);
    if (!removed) return { ...NO_CHANGE, membersChanged: [classIdOf(ck)] };
    return {
      ...NO_CHANGE,
      classesRemoved: [removed.id],
      verdictsChanged: this.classVerdicts(removed, 'removed'),
    };
  }

  // ---- namespaces ----

  upsertNamespace(ns: Namespace): Change {
    const info = namespaceInfo(ns);
    const old = this.namespaces.get(info.name);
    if (old && !old.implied && sameLabels(old.labels, info.labels)) return NO_CHANGE;
    const affected = this.classesIn(info.name);
    const before = this.evaluateAround(affected, affected);
    this.namespaces.set(info.name, info);
    this.invalidateCaches();
    const after = this.evaluateAround(affected, affected);
    return { ...NO_CHANGE, verdictsChanged: diff(before, after) };
  }

  deleteNamespace(name: string): Change {
    // Its pods and policies go with it (the API server deletes them; their own events follow).
    if (!this.namespaces.has(name)) return NO_CHANGE;
    this.implyNamespace(name);
    return NO_CHANGE;
  }

  // ---- policies ----

  upsertPolicy(np: NetworkPolicy): Change {
    const compiled = compilePolicy(np);
    const namespace = np.metadata.namespace ?? 'default';
    const name = np.metadata.name ?? '';
    if (!compiled.ok) {
      const removed = this.deletePolicy(namespace, name);
      return {
        ...removed,
        issues: compiled.issues.map((i) => ({
          ...i,
          kind: 'NetworkPolicy',
          namespace,
          name,
          severity: 'error',
        })),
      };
    }
    const old = this.policies.get(namespace)?.get(name);
    return this.replacePolicy(namespace, old, compiled.policy);
  }

  deletePolicy(namespace: string, name: string): Change {
    const old = this.policies.get(namespace)?.get(name);
    if (!old) return NO_CHANGE;
    return this.replacePolicy(namespace, old, undefined);
  }

  private replacePolicy(
    namespace: string,
    old: CompiledPolicy | undefined,
    next: CompiledPolicy | undefined,
  ): Change {
    const rows = new Set<MutableClass>();
    const cols = new Set<MutableClass>();
    const mark = (p: CompiledPolicy | undefined): void => {
      if (!p) return;
      for (const cls of this.classesIn(namespace)) {
        const pod = cls.representative;
        if (!selectorMatches(p.podSelector, pod.labels)) continue;
        if (p.isolates.egress) rows.add(cls);
        if (p.isolates.ingress) cols.add(cls);
      }
    };
    mark(old);
    mark(next);
    // Rules naming numeric ports change the default port lists of the destinations they reach.
    const externalCols = portListsMayChange(old) || portListsMayChange(next);
    for (const p of [old, next]) for (const cls of this.reachedByNumericPorts(p)) cols.add(cls);
    const before = this.evaluateAround([...rows], [...cols], externalCols);

    if (old) this.policies.get(namespace)?.delete(old.ref.name);
    if (next) this.setPolicy(next);
    this.refreshPolicyLists();
    this.invalidateCaches();
    const projection = projectionOf(this.policyLists.values(), this.profile.ipBlockMatchesPodIPs.value);
    if (!sameProjection(projection, this.projection)) return this.repartition(projection);
    const after = this.evaluateAround([...rows], [...cols], externalCols);
    return { ...NO_CHANGE, verdictsChanged: diff(before, after) };
  }

  /** Classes whose default port list a policy's numeric ports feed (see defaultPortsFor). */
  private reachedByNumericPorts(p: CompiledPolicy | undefined): MutableClass[] {
    if (!p) return [];
    const out: MutableClass[] = [];
    const ingressPorts = p.ingress.some(hasNumericPorts);
    const egressRules = p.egress.filter(hasNumericPorts);
    for (const cls of this.classesByKey.values()) {
      const dest: Endpoint = { kind: 'pod', pod: cls.representative };
      if (
        (ingressPorts && cls.namespace === p.ref.namespace) ||
        egressRules.some(
          (r) =>
            r.peers.kind === 'any-peer' || r.peers.peers.some((peer) => peerMatches(this.ctx, p, peer, dest)),
        )
      ) {
        out.push(cls);
      }
    }
    return out;
  }

  private repartition(projection: Projection): Change {
    const oldIds = new Set([...this.classesByKey.values()].map((c) => c.id));
    this.projection = projection;
    this.classesByKey.clear();
    this.classOfPod.clear();
    for (const pod of this.pods.values()) this.place(pod);
    const newIds = new Set([...this.classesByKey.values()].map((c) => c.id));
    return {
      ...NO_CHANGE,
      classesAdded: [...newIds].filter((id) => !oldIds.has(id)),
      classesRemoved: [...oldIds].filter((id) => !newIds.has(id)),
      repartitioned: true,
    };
  }

  // ---- internals ----

  private setPolicy(p: CompiledPolicy): void {
    let byName = this.policies.get(p.ref.namespace);
    if (!byName) {
      byName = new Map();
      this.policies.set(p.ref.namespace, byName);
    }
    byName.set(p.ref.name, p);
    if (!this.namespaces.has(p.ref.namespace)) this.implyNamespace(p.ref.namespace);
  }

  private refreshPolicyLists(): void {
    this.policyLists.clear();
    for (const [ns, byName] of this.policies) {
      if (byName.size > 0) {
        this.policyLists.set(
          ns,
          [...byName.values()].sort((a, b) => compare(a.ref.name, b.ref.name)),
        );
      }
    }
    this.allPolicies = [...this.policyLists.values()].flat();
  }

  private implyNamespace(name: string): void {
    this.namespaces.set(name, { ...namespaceInfo({ metadata: { name } }), implied: true });
  }

  private invalidateCaches(): void {
    this.memo = new WeakMap();
    this.portCache = new Map();
  }

  private place(pod: PodInfo): void {
    const key = classKey(pod, this.projection);
    let cls = this.classesByKey.get(key);
    if (!cls) {
      cls = { id: classIdOf(key), namespace: pod.namespace, key, representative: pod, members: [] };
      this.classesByKey.set(key, cls);
    }
    cls.members.push(pod);
    this.classOfPod.set(pod.key, key);
  }

  /** Removes a pod from its class; returns the class if that emptied it. */
  private removeMember(key: PodKey, ck: string): MutableClass | undefined {
    const cls = this.classesByKey.get(ck);
    this.classOfPod.delete(key);
    if (!cls) return undefined;
    const i = cls.members.findIndex((m) => m.key === key);
    if (i >= 0) cls.members.splice(i, 1);
    if (cls.members.length === 0) {
      this.classesByKey.delete(ck);
      return cls;
    }
    if (cls.representative.key === key) cls.representative = cls.members[0] as PodInfo;
    return undefined;
  }

  private classesIn(namespace: string): MutableClass[] {
    return [...this.classesByKey.values()].filter((c) => c.namespace === namespace);
  }

  private portsOf(endpoint: Endpoint, cacheKey: string): PortSpec[] {
    if (this.options.ports) return sortPorts(this.options.ports);
    let ports = this.portCache.get(cacheKey);
    if (!ports) {
      ports = defaultPortsFor(this.ctx, this.allPolicies, endpoint);
      this.portCache.set(cacheKey, ports);
    }
    return ports;
  }

  private destinations(): { id: TargetId; endpoint: Endpoint; cacheKey: string }[] {
    const out: { id: TargetId; endpoint: Endpoint; cacheKey: string }[] = [];
    for (const cls of this.classesByKey.values()) {
      out.push({ id: cls.id, endpoint: { kind: 'pod', pod: cls.representative }, cacheKey: cls.key });
    }
    for (const ext of this.options.externals ?? []) {
      out.push({
        id: `ip:${ext.text}`,
        endpoint: { kind: 'external', ip: ext.ip, text: ext.text },
        cacheKey: `ip:${ext.text}`,
      });
    }
    return out;
  }

  /** Verdicts in the rows of `rows` and the columns of `cols`, under the current state. */
  private evaluateAround(
    rows: readonly MutableClass[],
    cols: readonly MutableClass[],
    externalCols = false,
  ): Evaluated {
    const out: Evaluated = new Map();
    if (rows.length === 0 && cols.length === 0 && !externalCols) return out;
    const dests = this.destinations();
    const put = (src: MutableClass, dst: { id: TargetId; endpoint: Endpoint; cacheKey: string }): void => {
      for (const port of this.portsOf(dst.endpoint, dst.cacheKey)) {
        const k = `${src.id} ${dst.id} ${port.port}/${port.protocol}`;
        if (out.has(k)) continue;
        const verdict = evaluate(this.ctx, { from: src.representative, to: dst.endpoint, ...port });
        out.set(k, { from: src.id, to: dst.id, port, verdict });
      }
    };
    for (const src of rows) for (const dst of dests) put(src, dst);
    for (const dst of cols) {
      const d = {
        id: dst.id as TargetId,
        endpoint: { kind: 'pod', pod: dst.representative } as Endpoint,
        cacheKey: dst.key,
      };
      for (const src of this.classesByKey.values()) put(src, d);
    }
    if (externalCols) {
      for (const dst of dests) {
        if (dst.endpoint.kind !== 'external') continue;
        for (const src of this.classesByKey.values()) put(src, dst);
      }
    }
    return out;
  }

  /** Every verdict of one class (its row and column), for a class that appears or disappears. */
  private classVerdicts(cls: MutableClass, how: 'added' | 'removed'): VerdictChange[] {
    const wasHere = this.classesByKey.get(cls.key) === cls;
    if (!wasHere) this.classesByKey.set(cls.key, cls);
    const evaluated = this.evaluateAround([cls], [cls]);
    if (!wasHere) this.classesByKey.delete(cls.key);
    return [...evaluated.values()].map((e) => ({
      from: e.from,
      to: e.to,
      port: e.port.port,
      protocol: e.port.protocol,
      before: how === 'removed' ? e.verdict : undefined,
      after: how === 'added' ? e.verdict : undefined,
    }));
  }
}

function hasNumericPorts(r: CompiledRule): boolean {
  return r.ports.kind === 'ports' && r.ports.ports.some((m) => m.kind === 'port-range');
}

/** External targets' default ports are the numeric ports of every egress rule. */
function portListsMayChange(p: CompiledPolicy | undefined): boolean {
  return p?.egress.some(hasNumericPorts) ?? false;
}

function diff(before: Evaluated, after: Evaluated): VerdictChange[] {
  const out: VerdictChange[] = [];
  for (const [k, b] of before) {
    const a = after.get(k);
    if (!a || verdictSignature(a.verdict) !== verdictSignature(b.verdict)) {
      out.push({
        from: b.from,
        to: b.to,
        port: b.port.port,
        protocol: b.port.protocol,
        before: b.verdict,
        after: a?.verdict,
      });
    }
  }
  for (const [k, a] of after) {
    if (!before.has(k)) {
      out.push({
        from: a.from,
        to: a.to,
        port: a.port.port,
        protocol: a.port.protocol,
        before: undefined,
        after: a.verdict,
      });
    }
  }
  return out;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
