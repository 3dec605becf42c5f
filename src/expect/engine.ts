// The expectation engine: what the policies say about every flow, factored the way policies are.
//
// Nothing is stored per (source, destination) pair. A class keeps the rule sets that select it, one
// per direction; a verdict is decided on read, egress from the source's egress rules against the
// destination and ingress from the destination's ingress rules against the source. `allows` answers
// without building rule chains; `verdict` builds them for the flows someone reads in full. Storage
// grows with pods + classes + rules, never with classes squared.
//
// Each direction is a pipeline of tiers: ClusterNetworkPolicy's Admin tier, NetworkPolicy, its Baseline
// tier. A class keeps the ClusterNetworkPolicies whose subject selects it (interned), beside its
// NetworkPolicy rule sets; while there are none, verdicts take the NetworkPolicy-only path unchanged.
// A ClusterNetworkPolicy change re-selects every class and names every class as changed (they are few
// and cluster-wide; most select many namespaces).
//
// Incremental updates touch what an object can change:
//   pod        -> its old and new class (a new class gets its selection and the ports rules send it);
//   namespace  -> (labels) the classes in it, as peers of every rule;
//   policy     -> the selection of the classes of its namespace, and the default ports of the
//                 destinations its numeric egress rules reach; a new label key, named port or ipBlock
//                 (the class projection) re-partitions every pod.
// A `Change` names the classes whose verdicts may differ as a source or as a destination: every
// verdict that changed has its source in `sources` or its destination in `destinations` (a property
// test holds the engine to it).

import { assertNever } from '../core/assert-never.ts';
import {
  type ClusterNetworkPolicy,
  type Labels,
  NAMESPACE_NAME_LABEL,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '../core/k8s.ts';
import type { PortSpec, Protocol } from '../core/traffic.ts';
import { ipBlockContains } from '../policy/cidr.ts';
import { clusterSubjectSelects } from '../policy/cluster-tier.ts';
import { compilePolicy } from '../policy/compile.ts';
import { compileClusterPolicy } from '../policy/compile-cluster.ts';
import {
  clusterTierDecision,
  type DirectionQuery,
  type EvalContext,
  foldTiers,
  peerMatches,
  portMatches,
  type TierDecision,
} from '../policy/evaluate.ts';
import { type CompiledSelector, selectorMatches } from '../policy/labels.ts';
import type { CniProfile } from '../policy/profiles.ts';
import type { ExcludedPod, ObjectIssue, SnapshotInput } from '../policy/snapshot.ts';
import { namespaceInfo, podInfo } from '../policy/snapshot.ts';
import type {
  ClusterTier,
  CompiledClusterPolicy,
  CompiledPolicy,
  CompiledRule,
  Direction,
  DirectionVerdict,
  Endpoint,
  NamespaceInfo,
  PeerMatcher,
  PodInfo,
  PodKey,
  PolicyRef,
  RuleRef,
  Verdict,
} from '../policy/types.ts';
import { compareClusterPolicies, formatPolicyRef, formatRuleRef, podKey } from '../policy/types.ts';
import {
  type ClassId,
  classIdOf,
  classKey,
  type PodClass,
  type Projection,
  ProjectionCounter,
  sameProjection,
} from './classes.ts';
import { LabelIndex } from './label-index.ts';
import {
  clusterRulePorts,
  DEFAULT_EXTERNAL_PORT,
  type ExternalTarget,
  numericRulePorts,
  PortCounts,
  sortPorts,
} from './ports.ts';

export interface EngineOptions {
  /** Evaluate exactly these ports; default: per destination, see ports.ts. */
  readonly ports?: readonly PortSpec[] | undefined;
  readonly externals?: readonly ExternalTarget[] | undefined;
}

/** The rules of the policies that select a subject in one direction, in policy-name order. */
export interface RuleSet {
  readonly direction: Direction;
  readonly policies: readonly CompiledPolicy[];
  readonly rules: readonly { readonly policy: CompiledPolicy; readonly rule: CompiledRule }[];
  readonly isolatedBy: readonly PolicyRef[];
}

/** The ClusterNetworkPolicies whose subject selects a pod, per tier, by priority then name. */
export interface ClusterSelection {
  readonly admin: readonly CompiledClusterPolicy[];
  readonly baseline: readonly CompiledClusterPolicy[];
}

/** Whatever a verdict is decided for: a class (its representative) or a probe pod imitating one. */
export interface Subject {
  readonly namespace: string;
  readonly endpoint: Endpoint & { readonly kind: 'pod' };
  readonly ingress: RuleSet | undefined;
  readonly egress: RuleSet | undefined;
  /** Absent or undefined: no ClusterNetworkPolicy selects it. */
  readonly cluster?: ClusterSelection | undefined;
}

export interface ExpectClass extends PodClass, Subject {}

/** Where traffic goes: a class, or an external address (`ip:203.0.113.8`). */
export type TargetId = ClassId | `ip:${string}`;

export type Destination =
  | { readonly kind: 'class'; readonly id: ClassId; readonly cls: ExpectClass; readonly endpoint: Endpoint }
  | {
      readonly kind: 'external';
      readonly id: `ip:${string}`;
      readonly target: ExternalTarget;
      readonly endpoint: Endpoint;
    };

export interface Change {
  readonly classesAdded: readonly ClassId[];
  readonly classesRemoved: readonly ClassId[];
  /** Classes whose members changed (a pod joined or left) without a verdict change. */
  readonly membersChanged: readonly ClassId[];
  /** Classes whose verdicts as the source of a flow may differ. */
  readonly sources: readonly ClassId[];
  /** Classes whose verdicts as the destination of a flow (or whose default ports) may differ. */
  readonly destinations: readonly ClassId[];
  /** The default ports of external targets may differ. */
  readonly externals: boolean;
  /** The projection changed: every class was rebuilt; treat every verdict as changed. */
  readonly repartitioned: boolean;
  readonly issues: readonly ObjectIssue[];
}

const NO_CHANGE: Change = Object.freeze({
  classesAdded: [],
  classesRemoved: [],
  membersChanged: [],
  sources: [],
  destinations: [],
  externals: false,
  repartitioned: false,
  issues: [],
});

const NOT_ISOLATED: DirectionVerdict = Object.freeze({
  isolated: false,
  allowed: true,
  allowedBy: [],
  isolatedBy: [],
});
const EXTERNAL_INGRESS: DirectionVerdict = Object.freeze({
  isolated: false,
  allowed: true,
  allowedBy: [],
  isolatedBy: [],
  note: 'the destination is outside the cluster: no NetworkPolicy applies to its ingress',
});

interface EngineClass extends ExpectClass {
  representative: PodInfo;
  endpoint: Endpoint & { kind: 'pod' };
  ingress: RuleSet | undefined;
  egress: RuleSet | undefined;
  cluster: ClusterSelection | undefined;
  /** ipBlocks (by text) the class's IPs fall in, when the profile lets ipBlocks match pods. */
  blocks: readonly string[];
  /**
   * Ports numeric egress rules send to this class. Which rules reach a class changes only when its
   * namespace is relabelled (recomputeReach), so a rule taken back subtracts from the classes it
   * reaches now.
   */
  readonly reached: PortCounts;
  /** Default ports, computed on first read; undefined when stale. */
  ports: PortSpec[] | undefined;
  portsVersion: number;
}

interface NumericEgressRule {
  readonly policy: CompiledPolicy;
  readonly rule: CompiledRule;
  readonly ports: readonly PortSpec[];
}

let policySerial = 0;
const serials = new WeakMap<CompiledPolicy, number>();
function serialOf(p: CompiledPolicy): number {
  let s = serials.get(p);
  if (s === undefined) {
    s = ++policySerial;
    serials.set(p, s);
  }
  return s;
}

/** A stable text of a verdict, to compare verdicts across computations. */
export function verdictSignature(v: Verdict): string {
  const cluster = (x: DirectionVerdict): string =>
    x.tier || x.passedBy || x.undetermined
      ? `:${x.tier ?? ''}:${(x.deniedBy ?? []).map(formatRuleRef).join(',')}:${(x.passedBy ?? []).map(formatRuleRef).join(',')}:${x.undetermined ? `${x.undetermined.why}=${x.undetermined.rules.map(formatRuleRef).join(',')}` : ''}`
      : '';
  const d = (x: DirectionVerdict): string =>
    `${x.isolated ? 'i' : '-'}${x.allowed ? 'a' : 'd'}:${x.allowedBy.map(formatRuleRef).join(',')}:${x.isolatedBy.map(formatPolicyRef).join(',')}${cluster(x)}`;
  return `${v.allowed ? 'A' : 'D'}|${d(v.egress)}|${d(v.ingress)}`;
}

export class ExpectationEngine {
  readonly profile: CniProfile;
  readonly options: EngineOptions;
  /** What a bulk load skipped (a policy or pod that does not compile) or warns about, for the caller to report. */
  readonly loadIssues: ObjectIssue[] = [];
  /** Pods a bulk load left out of the analysis, with the reason (host network, finished). */
  readonly excluded: ExcludedPod[] = [];
  /** The reference evaluation context over the same state, for explanations. */
  readonly ctx: EvalContext;
  private readonly fixedPorts: readonly PortSpec[] | undefined;

  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly nsIndex = new LabelIndex<string>();
  private readonly pods = new Map<PodKey, PodInfo>();
  private readonly policies = new Map<string, Map<string, CompiledPolicy>>();
  private readonly policyLists = new Map<string, CompiledPolicy[]>();
  private currentProjection: Projection = { labelKeys: [], namedPorts: [], ipBlocks: [] };
  private projectionCounts: ProjectionCounter;
  private readonly classesByKey = new Map<string, EngineClass>();
  private readonly classesById = new Map<string, EngineClass>();
  private readonly classOfPod = new Map<PodKey, EngineClass>();
  private readonly classesByNs = new Map<string, Set<EngineClass>>();
  private readonly classesByBlock = new Map<string, Set<EngineClass>>();
  private sorted: EngineClass[] | undefined;
  /** Interned rule sets per namespace, keyed by direction and policy identities. */
  private readonly ruleSets = new Map<string, Map<string, RuleSet>>();
  private readonly nsMatch = new Map<string, WeakMap<CompiledSelector, boolean>>();
  private readonly numericEgress = new Map<CompiledRule, NumericEgressRule>();
  private readonly anyPeerPorts = new PortCounts();
  /**
   * Ports numeric egress rules send to an ipBlock (by text), for the classes whose IPs it holds: one
   * count per block, not per class, since a block like 0.0.0.0/0 holds every pod.
   */
  private readonly blockPorts = new Map<string, PortCounts>();
  private readonly allEgressPorts = new PortCounts();
  private readonly ingressPortsByNs = new Map<string, PortSpec[]>();
  private portsVersion = 0;
  private bulk = false;
  private readonly subjectMemo = new WeakMap<PodInfo, { version: number; subject: Subject }>();
  /** Bumped by every policy change: subjects memoised before it are stale. */
  private selectionVersion = 0;
  private readonly clusterPolicies = new Map<string, CompiledClusterPolicy>();
  private clusterLists: Readonly<Record<ClusterTier, readonly CompiledClusterPolicy[]>> = {
    Admin: [],
    Baseline: [],
  };
  /** Interned per namespace (a subject's namespace labels are part of its selection). */
  private readonly clusterSelections = new Map<string, Map<string, ClusterSelection>>();
  /** Numeric ports of every ClusterNetworkPolicy rule: probed on every destination. */
  private readonly clusterPorts = new PortCounts();
  private readonly clusterEgressPorts = new PortCounts();

  constructor(profile: CniProfile, options: EngineOptions = {}) {
    this.profile = profile;
    this.options = options;
    this.fixedPorts = options.ports ? sortPorts(options.ports) : undefined;
    this.projectionCounts = new ProjectionCounter(profile.ipBlockMatchesPodIPs.value);
    this.ctx = {
      profile,
      policiesIn: (ns) => this.policyLists.get(ns) ?? [],
      namespaceLabels: (ns): Labels => this.namespaces.get(ns)?.labels ?? { [NAMESPACE_NAME_LABEL]: ns },
      namespaceMatches: (selector, ns) => this.namespaceMatches(selector, ns),
      clusterPolicies: (tier) => this.clusterLists[tier],
    };
  }

  /** Bulk load: one pass over the objects, no per-change bookkeeping. */
  static from(input: SnapshotInput, profile: CniProfile, options: EngineOptions = {}): ExpectationEngine {
    const engine = new ExpectationEngine(profile, options);
    for (const ns of input.namespaces) engine.setNamespace(namespaceInfo(ns));
    for (const np of input.policies) {
      const c = compilePolicy(np);
      const namespace = np.metadata.namespace ?? 'default';
      const name = np.metadata.name ?? '';
      if (c.ok) {
        engine.storePolicy(c.policy);
        for (const w of c.warnings)
          engine.loadIssues.push({ ...w, kind: 'NetworkPolicy', namespace, name, severity: 'warning' });
      } else {
        for (const i of c.issues)
          engine.loadIssues.push({ ...i, kind: 'NetworkPolicy', namespace, name, severity: 'error' });
      }
    }
    for (const ns of engine.policies.keys()) engine.refreshPolicyList(ns);
    for (const cnp of input.clusterPolicies ?? []) {
      const c = compileClusterPolicy(cnp);
      const where = {
        kind: 'ClusterNetworkPolicy',
        namespace: undefined,
        name: cnp.metadata.name ?? '',
      } as const;
      if (c.ok) {
        engine.storeClusterPolicy(c.policy);
        for (const w of c.warnings) engine.loadIssues.push({ ...w, ...where, severity: 'warning' });
      } else for (const i of c.issues) engine.loadIssues.push({ ...i, ...where, severity: 'error' });
    }
    engine.refreshClusterLists();
    const pods: PodInfo[] = [];
    for (const pod of input.pods) {
      const c = podInfo(pod, profile);
      if (c.kind === 'pod') pods.push(c.pod);
      else if (c.kind === 'excluded') engine.excluded.push({ key: c.key, reason: c.reason });
      else {
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
    // In key order, so a class's representative and members do not depend on the input's order.
    pods.sort((a, b) => compare(a.key, b.key));
    for (const pod of pods) engine.pods.set(pod.key, pod);
    engine.rebuild(engine.projectionNow());
    return engine;
  }

  /**
   * An independent copy, to update without touching this one (a diff applies the head's changes to
   * a copy of the base). Far cheaper than a second build: what updates replace rather than change
   * (compiled policies, pods, rule sets, selections) is shared; what they change in place (classes'
   * members and reached ports, counts, indexes) is copied; caches start empty.
   */
  fork(): ExpectationEngine {
    const e = new ExpectationEngine(this.profile, this.options);
    e.loadIssues.push(...this.loadIssues);
    e.excluded.push(...this.excluded);
    for (const info of this.namespaces.values()) e.setNamespace(info);
    for (const [key, pod] of this.pods) e.pods.set(key, pod);
    for (const [ns, byName] of this.policies) e.policies.set(ns, new Map(byName));
    for (const [ns, list] of this.policyLists) e.policyLists.set(ns, list);
    e.currentProjection = this.currentProjection;
    e.projectionCounts = this.projectionCounts.clone();
    const copies = new Map<EngineClass, EngineClass>();
    for (const [key, cls] of this.classesByKey) {
      const reached = new PortCounts();
      reached.copyFrom(cls.reached);
      const copy: EngineClass = { ...cls, members: [...cls.members], reached };
      copies.set(cls, copy);
      e.classesByKey.set(key, copy);
      e.classesById.set(copy.id, copy);
    }
    const copyOf = (cls: EngineClass): EngineClass => copies.get(cls) ?? cls;
    for (const [pod, cls] of this.classOfPod) e.classOfPod.set(pod, copyOf(cls));
    for (const [ns, set] of this.classesByNs) e.classesByNs.set(ns, new Set([...set].map(copyOf)));
    for (const [b, set] of this.classesByBlock) e.classesByBlock.set(b, new Set([...set].map(copyOf)));
    for (const [ns, sets] of this.ruleSets) e.ruleSets.set(ns, new Map(sets));
    for (const [rule, entry] of this.numericEgress) e.numericEgress.set(rule, entry);
    e.anyPeerPorts.copyFrom(this.anyPeerPorts);
    for (const [b, counts] of this.blockPorts) {
      const copy = new PortCounts();
      copy.copyFrom(counts);
      e.blockPorts.set(b, copy);
    }
    e.allEgressPorts.copyFrom(this.allEgressPorts);
    e.portsVersion = this.portsVersion;
    e.selectionVersion = this.selectionVersion;
    for (const [name, p] of this.clusterPolicies) e.clusterPolicies.set(name, p);
    e.clusterLists = this.clusterLists;
    for (const [ns, sels] of this.clusterSelections) e.clusterSelections.set(ns, new Map(sels));
    e.clusterPorts.copyFrom(this.clusterPorts);
    e.clusterEgressPorts.copyFrom(this.clusterEgressPorts);
    return e;
  }

  // ---- reads ----

  get projection(): Projection {
    return this.currentProjection;
  }

  /** Classes sorted by namespace, then by their representative's key. */
  classes(): readonly ExpectClass[] {
    if (!this.sorted) {
      this.sorted = [...this.classesByKey.values()].sort((a, b) =>
        a.namespace === b.namespace
          ? compare(a.representative.key, b.representative.key)
          : compare(a.namespace, b.namespace),
      );
    }
    return this.sorted;
  }

  classById(id: string): ExpectClass | undefined {
    return this.classesById.get(id);
  }

  classOf(namespace: string, name: string): ExpectClass | undefined {
    return this.classOfPod.get(podKey(namespace, name));
  }

  namespaceList(): readonly NamespaceInfo[] {
    return [...this.namespaces.values()].sort((a, b) => compare(a.name, b.name));
  }

  policiesIn(namespace: string): readonly CompiledPolicy[] {
    return this.policyLists.get(namespace) ?? [];
  }

  /** ClusterNetworkPolicies of a tier, by priority then name. */
  clusterPoliciesOf(tier: ClusterTier): readonly CompiledClusterPolicy[] {
    return this.clusterLists[tier];
  }

  policyCount(): number {
    let n = 0;
    for (const l of this.policyLists.values()) n += l.length;
    return n;
  }

  podCount(): number {
    return this.pods.size;
  }

  externals(): readonly ExternalTarget[] {
    return this.options.externals ?? [];
  }

  /** Every destination: each class, then each external target. */
  destinations(): Destination[] {
    const out: Destination[] = this.classes().map((cls) => classDestination(cls));
    for (const target of this.externals()) out.push(externalDestination(target));
    return out;
  }

  destinationOf(id: string): Destination | undefined {
    if (id.startsWith('ip:')) {
      const target = this.externals().find((e) => `ip:${e.text}` === id);
      return target ? externalDestination(target) : undefined;
    }
    const cls = this.classesById.get(id);
    return cls ? classDestination(cls) : undefined;
  }

  /** The ports a destination is evaluated on. */
  portsOf(dst: Destination): readonly PortSpec[] {
    if (this.fixedPorts) return this.fixedPorts;
    if (dst.kind === 'external') return this.externalPorts(dst.target);
    const cls = this.classesById.get(dst.id);
    if (!cls) return this.portsOfEndpoint(dst.cls.endpoint);
    if (cls.ports && cls.portsVersion === this.portsVersion) return cls.ports;
    cls.ports = this.podPorts(cls.representative, cls.namespace, cls.reached, cls.blocks);
    cls.portsVersion = this.portsVersion;
    return cls.ports;
  }

  /** Default ports of any endpoint (a probe pod's, an external target's) under the current policies. */
  portsOfEndpoint(endpoint: Endpoint): readonly PortSpec[] {
    if (this.fixedPorts) return this.fixedPorts;
    if (endpoint.kind === 'external') return this.externalPorts({ text: endpoint.text, ip: endpoint.ip });
    const reached = new PortCounts();
    for (const r of this.numericEgress.values()) {
      if (this.ruleReaches(r.policy, r.rule, endpoint)) reached.add(r.ports);
    }
    return this.podPorts(endpoint.pod, endpoint.pod.namespace, reached, []);
  }

  /** Is the flow allowed? No rule chains are built. */
  allows(src: Subject, dst: Destination | Subject, port: number, protocol: Protocol): boolean {
    const { endpoint, subject } = destinationParts(dst);
    const egressOk = src.cluster
      ? this.tieredVerdict(src, 'egress', endpoint, endpoint, port, protocol).allowed
      : this.directionAllows(src.egress, endpoint, endpoint, port, protocol);
    if (!egressOk) return false;
    if (!subject) return true;
    if (subject.cluster)
      return this.tieredVerdict(subject, 'ingress', src.endpoint, endpoint, port, protocol).allowed;
    return this.directionAllows(subject.ingress, src.endpoint, endpoint, port, protocol);
  }

  /** The verdict with its reasons: every allowing rule, or the policies that isolate. */
  verdict(src: Subject, dst: Destination | Subject, port: number, protocol: Protocol): Verdict {
    const { endpoint, subject } = destinationParts(dst);
    const egress = src.cluster
      ? this.tieredVerdict(src, 'egress', endpoint, endpoint, port, protocol)
      : this.directionVerdict(src.egress, endpoint, endpoint, port, protocol);
    const ingress = subject
      ? subject.cluster
        ? this.tieredVerdict(subject, 'ingress', src.endpoint, endpoint, port, protocol)
        : this.directionVerdict(subject.ingress, src.endpoint, endpoint, port, protocol)
      : EXTERNAL_INGRESS;
    return { allowed: egress.allowed && ingress.allowed, egress, ingress };
  }

  /** The subject a pod would be (its selection under the current policies): probe pods, --explain. */
  subjectOf(pod: PodInfo): Subject {
    const known = this.classOfPod.get(pod.key);
    if (known && known.representative === pod) return known;
    const memo = this.subjectMemo.get(pod);
    if (memo && memo.version === this.selectionVersion) return memo.subject;
    const sel = this.select(pod.namespace, pod.labels);
    const subject: Subject = { namespace: pod.namespace, endpoint: { kind: 'pod', pod }, ...sel };
    this.subjectMemo.set(pod, { version: this.selectionVersion, subject });
    return subject;
  }

  /** A verdict between any pod and any endpoint under the current policies (probe pods, --explain). */
  verdictFor(from: PodInfo, to: Endpoint, port: number, protocol: Protocol): Verdict {
    const src = this.subjectOf(from);
    const dst: Destination | Subject =
      to.kind === 'pod' ? this.subjectOf(to.pod) : externalDestination({ text: to.text, ip: to.ip });
    return this.verdict(src, dst, port, protocol);
  }

  /** The verdict signature of a (class, target, port) cell, or undefined when either end is gone. */
  cellSignature(from: string, to: string, port: number, protocol: Protocol): string | undefined {
    const src = this.classesById.get(from);
    const dst = this.destinationOf(to);
    if (!src || !dst) return undefined;
    return verdictSignature(this.verdict(src, dst, port, protocol));
  }

  /** Does a namespace selector match a namespace (its labels as the engine holds them)? */
  namespaceMatchesSelector(selector: CompiledSelector, namespace: string): boolean {
    return this.namespaceMatches(selector, namespace);
  }

  /** Classes whose pods a peer matches (for rule reach, factored output and queries). */
  classesMatchingPeer(policy: CompiledPolicy, peer: PeerMatcher): EngineClass[] {
    const out: EngineClass[] = [];
    switch (peer.kind) {
      case 'pods-in-policy-namespace':
        for (const cls of this.classesByNs.get(policy.ref.namespace) ?? []) {
          if (selectorMatches(peer.pods, cls.representative.labels)) out.push(cls);
        }
        return out;
      case 'pods-in-namespaces':
        for (const ns of this.nsIndex.candidates(peer.namespaces)) {
          if (!this.namespaceMatches(peer.namespaces, ns)) continue;
          for (const cls of this.classesByNs.get(ns) ?? []) {
            if (selectorMatches(peer.pods, cls.representative.labels)) out.push(cls);
          }
        }
        return out;
      case 'ip-block':
        return this.profile.ipBlockMatchesPodIPs.value
          ? [...(this.classesByBlock.get(peer.block.text) ?? [])]
          : [];
      default:
        return assertNever(peer);
    }
  }

  // ---- updates ----

  upsertPod(pod: Pod): Change {
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    const c = podInfo(pod, this.profile);
    if (c.kind === 'invalid') {
      const removed = this.deletePod(namespace, name);
      const issues = c.issues.map(
        (i): ObjectIssue => ({ ...i, kind: 'Pod', namespace, name, severity: 'error' }),
      );
      return { ...removed, issues };
    }
    if (c.kind === 'excluded') return this.deletePod(namespace, name);
    const info = c.pod;
    if (!this.namespaces.has(info.namespace)) this.implyNamespace(info.namespace);
    const old = this.classOfPod.get(info.key);
    const key = classKey(info, this.currentProjection);
    if (old && old.key === key) {
      // Same class: swap the member in place (labels outside the projection, status, node...).
      this.removeMember(info.key, old);
      this.pods.set(info.key, info);
      this.place(info, key);
      return { ...NO_CHANGE, membersChanged: [old.id] };
    }
    const existed = this.classesByKey.has(key);
    const emptied = old ? this.removeMember(info.key, old) : false;
    this.pods.set(info.key, info);
    const cls = this.place(info, key);
    return {
      ...NO_CHANGE,
      classesAdded: existed ? [] : [cls.id],
      classesRemoved: old && emptied ? [old.id] : [],
      membersChanged: [...(old && !emptied ? [old.id] : []), ...(existed ? [cls.id] : [])],
    };
  }

  deletePod(namespace: string, name: string): Change {
    const key = podKey(namespace, name);
    const cls = this.classOfPod.get(key);
    this.pods.delete(key);
    if (!cls) return NO_CHANGE;
    const emptied = this.removeMember(key, cls);
    return emptied ? { ...NO_CHANGE, classesRemoved: [cls.id] } : { ...NO_CHANGE, membersChanged: [cls.id] };
  }

  upsertNamespace(ns: Namespace): Change {
    const info = namespaceInfo(ns);
    const old = this.namespaces.get(info.name);
    if (old && !old.implied && sameLabels(old.labels, info.labels)) return NO_CHANGE;
    this.setNamespace(info);
    const affected = [...(this.classesByNs.get(info.name) ?? [])];
    if (this.clusterPolicies.size > 0) {
      // ClusterNetworkPolicy subjects select by namespace labels too.
      this.clusterSelections.delete(info.name);
      this.selectionVersion++;
      for (const cls of affected) cls.cluster = this.selectCluster(cls.namespace, cls.representative.labels);
    }
    // Its classes, as peers, may now match other rules: the ports those rules send them change too.
    for (const cls of affected) this.recomputeReach(cls);
    const ids = affected.map((c) => c.id);
    return { ...NO_CHANGE, sources: ids, destinations: ids };
  }

  deleteNamespace(name: string): Change {
    // Its pods and policies go with it (the API server deletes them; their own events follow).
    if (!this.namespaces.has(name)) return NO_CHANGE;
    this.implyNamespace(name);
    return NO_CHANGE;
  }

  upsertPolicy(np: NetworkPolicy): Change {
    const namespace = np.metadata.namespace ?? 'default';
    const name = np.metadata.name ?? '';
    const compiled = compilePolicy(np);
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

  upsertClusterPolicy(cnp: ClusterNetworkPolicy): Change {
    const name = cnp.metadata.name ?? '';
    const compiled = compileClusterPolicy(cnp);
    if (!compiled.ok) {
      const removed = this.deleteClusterPolicy(name);
      return {
        ...removed,
        issues: compiled.issues.map(
          (i): ObjectIssue => ({
            ...i,
            kind: 'ClusterNetworkPolicy',
            namespace: undefined,
            name,
            severity: 'error',
          }),
        ),
      };
    }
    return this.replaceClusterPolicy(this.clusterPolicies.get(name), compiled.policy);
  }

  deleteClusterPolicy(name: string): Change {
    const old = this.clusterPolicies.get(name);
    if (!old) return NO_CHANGE;
    return this.replaceClusterPolicy(old, undefined);
  }

  // ---- internals: ClusterNetworkPolicy ----

  private storeClusterPolicy(p: CompiledClusterPolicy): void {
    const replaced = this.clusterPolicies.get(p.ref.name);
    if (replaced) this.unstoreClusterPolicy(replaced);
    this.clusterPolicies.set(p.ref.name, p);
    this.projectionCounts.addCluster(p, 1);
    for (const rule of p.ingress) this.clusterPorts.add(clusterRulePorts(rule));
    for (const rule of p.egress) {
      this.clusterPorts.add(clusterRulePorts(rule));
      this.clusterEgressPorts.add(clusterRulePorts(rule));
    }
  }

  private unstoreClusterPolicy(p: CompiledClusterPolicy): void {
    this.clusterPolicies.delete(p.ref.name);
    this.projectionCounts.addCluster(p, -1);
    for (const rule of p.ingress) this.clusterPorts.add(clusterRulePorts(rule), -1);
    for (const rule of p.egress) {
      this.clusterPorts.add(clusterRulePorts(rule), -1);
      this.clusterEgressPorts.add(clusterRulePorts(rule), -1);
    }
  }

  private refreshClusterLists(): void {
    const all = [...this.clusterPolicies.values()].sort(compareClusterPolicies);
    this.clusterLists = {
      Admin: all.filter((p) => p.tier === 'Admin'),
      Baseline: all.filter((p) => p.tier === 'Baseline'),
    };
    this.clusterSelections.clear();
  }

  private replaceClusterPolicy(
    old: CompiledClusterPolicy | undefined,
    next: CompiledClusterPolicy | undefined,
  ): Change {
    if (old) this.unstoreClusterPolicy(old);
    if (next) this.storeClusterPolicy(next);
    this.refreshClusterLists();
    this.selectionVersion++;
    this.portsVersion++;
    const projection = this.projectionNow();
    if (projection !== this.currentProjection && !sameProjection(projection, this.currentProjection))
      return this.repartition(projection);
    for (const cls of this.classesByKey.values()) {
      cls.cluster = this.selectCluster(cls.namespace, cls.representative.labels);
      cls.ports = undefined;
    }
    const ids = this.classes().map((c) => c.id);
    return { ...NO_CHANGE, sources: ids, destinations: ids, externals: true };
  }

  private selectCluster(namespace: string, labels: Labels): ClusterSelection | undefined {
    if (this.clusterPolicies.size === 0) return undefined;
    const pod = { namespace, labels };
    const admin = this.clusterLists.Admin.filter((p) => clusterSubjectSelects(this.ctx, p, pod));
    const baseline = this.clusterLists.Baseline.filter((p) => clusterSubjectSelects(this.ctx, p, pod));
    if (admin.length === 0 && baseline.length === 0) return undefined;
    let sets = this.clusterSelections.get(namespace);
    if (!sets) {
      sets = new Map();
      this.clusterSelections.set(namespace, sets);
    }
    const key = `${admin.map((p) => p.ref.name).join('\0')}\n${baseline.map((p) => p.ref.name).join('\0')}`;
    let sel = sets.get(key);
    if (!sel) {
      sel = { admin, baseline };
      sets.set(key, sel);
    }
    return sel;
  }

  /** One direction through the tiers: Admin, NetworkPolicy (the subject's rule set), Baseline. */
  private tieredVerdict(
    subject: Subject,
    direction: Direction,
    peer: Endpoint,
    destination: Endpoint,
    port: number,
    protocol: Protocol,
  ): DirectionVerdict {
    const q: DirectionQuery = { direction, subject: subject.endpoint.pod, peer, destination, port, protocol };
    const sel = subject.cluster;
    const set = direction === 'ingress' ? subject.ingress : subject.egress;
    const ctx = this.ctx;
    const np = (): TierDecision => {
      if (!set) return { kind: 'no-opinion' };
      const v = this.directionVerdict(set, peer, destination, port, protocol);
      return v.allowed
        ? { kind: 'allow', by: v.allowedBy, isolatedBy: v.isolatedBy }
        : { kind: 'deny', isolatedBy: v.isolatedBy };
    };
    function* decisions(): Generator<TierDecision> {
      yield clusterTierDecision(ctx, 'Admin', sel?.admin ?? [], q);
      yield np();
      yield clusterTierDecision(ctx, 'Baseline', sel?.baseline ?? [], q);
    }
    return foldTiers(decisions());
  }

  // ---- internals: decisions ----

  private directionAllows(
    set: RuleSet | undefined,
    peer: Endpoint,
    destination: Endpoint,
    port: number,
    protocol: Protocol,
  ): boolean {
    if (!set) return true;
    for (const { policy, rule } of set.rules) {
      if (this.ruleMatches(policy, rule, peer, destination, port, protocol)) return true;
    }
    return false;
  }

  private directionVerdict(
    set: RuleSet | undefined,
    peer: Endpoint,
    destination: Endpoint,
    port: number,
    protocol: Protocol,
  ): DirectionVerdict {
    if (!set) return NOT_ISOLATED;
    let by: RuleRef[] | undefined;
    for (const { policy, rule } of set.rules) {
      if (!this.ruleMatches(policy, rule, peer, destination, port, protocol)) continue;
      by ??= [];
      by.push(rule.ref);
    }
    return { isolated: true, allowed: by !== undefined, allowedBy: by ?? [], isolatedBy: set.isolatedBy };
  }

  private ruleMatches(
    policy: CompiledPolicy,
    rule: CompiledRule,
    peer: Endpoint,
    destination: Endpoint,
    port: number,
    protocol: Protocol,
  ): boolean {
    if (rule.ports.kind === 'ports') {
      let ok = false;
      for (const m of rule.ports.ports) {
        if (portMatches(m, destination, port, protocol)) {
          ok = true;
          break;
        }
      }
      if (!ok) return false;
    }
    return this.ruleReaches(policy, rule, peer);
  }

  private ruleReaches(policy: CompiledPolicy, rule: CompiledRule, other: Endpoint): boolean {
    if (rule.peers.kind === 'any-peer') return true;
    for (const p of rule.peers.peers) if (this.peerMatches(policy, p, other)) return true;
    return false;
  }

  private peerMatches(policy: CompiledPolicy, peer: PeerMatcher, other: Endpoint): boolean {
    return peerMatches(this.ctx, policy, peer, other);
  }

  private namespaceMatches(selector: CompiledSelector, namespace: string): boolean {
    let cache = this.nsMatch.get(namespace);
    if (!cache) {
      cache = new WeakMap();
      this.nsMatch.set(namespace, cache);
    }
    let m = cache.get(selector);
    if (m === undefined) {
      m = selectorMatches(selector, this.ctx.namespaceLabels(namespace));
      cache.set(selector, m);
    }
    return m;
  }

  private select(
    namespace: string,
    labels: Labels,
  ): { ingress: RuleSet | undefined; egress: RuleSet | undefined; cluster: ClusterSelection | undefined } {
    const ingress: CompiledPolicy[] = [];
    const egress: CompiledPolicy[] = [];
    for (const p of this.policyLists.get(namespace) ?? []) {
      if (!selectorMatches(p.podSelector, labels)) continue;
      if (p.isolates.ingress) ingress.push(p);
      if (p.isolates.egress) egress.push(p);
    }
    return {
      ingress: this.ruleSet(namespace, 'ingress', ingress),
      egress: this.ruleSet(namespace, 'egress', egress),
      cluster: this.selectCluster(namespace, labels),
    };
  }

  private ruleSet(namespace: string, direction: Direction, policies: CompiledPolicy[]): RuleSet | undefined {
    if (policies.length === 0) return undefined;
    let sets = this.ruleSets.get(namespace);
    if (!sets) {
      sets = new Map();
      this.ruleSets.set(namespace, sets);
    }
    const key = `${direction}|${policies.map(serialOf).join(',')}`;
    let set = sets.get(key);
    if (!set) {
      set = {
        direction,
        policies,
        rules: policies.flatMap((policy) =>
          (direction === 'ingress' ? policy.ingress : policy.egress).map((rule) => ({ policy, rule })),
        ),
        isolatedBy: policies.map((p) => p.ref),
      };
      sets.set(key, set);
    }
    return set;
  }

  // ---- internals: ports ----

  private podPorts(
    pod: PodInfo,
    namespace: string,
    reached: PortCounts,
    blocks: readonly string[],
  ): PortSpec[] {
    const out: PortSpec[] = pod.ports.map((p) => ({ port: p.port, protocol: p.protocol }));
    out.push(...this.ingressPorts(namespace), ...this.anyPeerPorts, ...reached, ...this.clusterPorts);
    for (const b of blocks) out.push(...(this.blockPorts.get(b) ?? []));
    return sortPorts(out);
  }

  private externalPorts(target: ExternalTarget): PortSpec[] {
    if (target.ports) return sortPorts(target.ports);
    const named = [...this.allEgressPorts, ...this.clusterEgressPorts];
    return named.length > 0 ? sortPorts(named) : [DEFAULT_EXTERNAL_PORT];
  }

  private ingressPorts(namespace: string): PortSpec[] {
    let list = this.ingressPortsByNs.get(namespace);
    if (!list) {
      list = (this.policyLists.get(namespace) ?? []).flatMap((p) => p.ingress.flatMap(numericRulePorts));
      this.ingressPortsByNs.set(namespace, list);
    }
    return list;
  }

  /** Registers a policy's numeric egress rules; `sign` -1 takes them back. */
  private countEgressPorts(policy: CompiledPolicy, sign: 1 | -1): Set<EngineClass> {
    const touched = new Set<EngineClass>();
    for (const rule of policy.egress) {
      const ports = numericRulePorts(rule);
      if (ports.length === 0) continue;
      this.allEgressPorts.add(ports, sign);
      if (rule.peers.kind === 'any-peer') {
        this.anyPeerPorts.add(ports, sign);
        this.portsVersion++;
        continue;
      }
      if (sign < 0) this.numericEgress.delete(rule);
      else this.numericEgress.set(rule, { policy, rule, ports });
      if (this.profile.ipBlockMatchesPodIPs.value) {
        for (const peer of rule.peers.peers) {
          if (peer.kind !== 'ip-block') continue;
          let counts = this.blockPorts.get(peer.block.text);
          if (!counts) {
            counts = new PortCounts();
            this.blockPorts.set(peer.block.text, counts);
          }
          counts.add(ports, sign);
          this.portsVersion++;
          if (!this.bulk) for (const cls of this.classesByBlock.get(peer.block.text) ?? []) touched.add(cls);
        }
      }
      if (this.bulk) continue;
      for (const cls of this.classesReachedBy(policy, rule)) {
        cls.reached.add(ports, sign);
        cls.ports = undefined;
        touched.add(cls);
      }
    }
    return touched;
  }

  /** Classes a rule's pod peers reach (its ipBlock peers count per block: see blockPorts). */
  private classesReachedBy(policy: CompiledPolicy, rule: CompiledRule): Set<EngineClass> {
    const out = new Set<EngineClass>();
    if (rule.peers.kind === 'any-peer') return out;
    for (const peer of rule.peers.peers) {
      if (peer.kind === 'ip-block') continue;
      for (const cls of this.classesMatchingPeer(policy, peer)) out.add(cls);
    }
    return out;
  }

  private podPeersReach(policy: CompiledPolicy, rule: CompiledRule, other: Endpoint): boolean {
    if (rule.peers.kind === 'any-peer') return false;
    for (const p of rule.peers.peers)
      if (p.kind !== 'ip-block' && this.peerMatches(policy, p, other)) return true;
    return false;
  }

  /** Recomputes which numeric egress rules reach a class (its peers' view of it changed). */
  private recomputeReach(cls: EngineClass): void {
    cls.reached.clear();
    for (const entry of this.numericEgress.values()) {
      if (this.podPeersReach(entry.policy, entry.rule, cls.endpoint)) cls.reached.add(entry.ports);
    }
    cls.ports = undefined;
  }

  // ---- internals: objects ----

  private setNamespace(info: NamespaceInfo): void {
    const old = this.namespaces.get(info.name);
    if (old) this.nsIndex.remove(info.name, old.labels);
    this.namespaces.set(info.name, info);
    this.nsIndex.add(info.name, info.labels);
    this.nsMatch.delete(info.name);
  }

  private implyNamespace(name: string): void {
    this.setNamespace({ ...namespaceInfo({ metadata: { name } }), implied: true });
  }

  private storePolicy(p: CompiledPolicy): void {
    let byName = this.policies.get(p.ref.namespace);
    if (!byName) {
      byName = new Map();
      this.policies.set(p.ref.namespace, byName);
    }
    const replaced = byName.get(p.ref.name);
    if (replaced) this.projectionCounts.add(replaced, -1);
    byName.set(p.ref.name, p);
    this.projectionCounts.add(p, 1);
    if (!this.namespaces.has(p.ref.namespace)) this.implyNamespace(p.ref.namespace);
  }

  private refreshPolicyList(namespace: string): void {
    const byName = this.policies.get(namespace);
    if (!byName || byName.size === 0) {
      this.policyLists.delete(namespace);
      this.policies.delete(namespace);
    } else {
      this.policyLists.set(
        namespace,
        [...byName.values()].sort((a, b) => compare(a.ref.name, b.ref.name)),
      );
    }
    this.ingressPortsByNs.delete(namespace);
    this.ruleSets.delete(namespace);
  }

  private projectionNow(): Projection {
    return this.projectionCounts.projection();
  }

  private replacePolicy(
    namespace: string,
    old: CompiledPolicy | undefined,
    next: CompiledPolicy | undefined,
  ): Change {
    const sources = new Set<EngineClass>();
    const destinations = new Set<EngineClass>();
    const inNs = [...(this.classesByNs.get(namespace) ?? [])];
    const mark = (p: CompiledPolicy | undefined): void => {
      if (!p) return;
      for (const cls of inNs) {
        if (!selectorMatches(p.podSelector, cls.representative.labels)) continue;
        if (p.isolates.egress) sources.add(cls);
        if (p.isolates.ingress) destinations.add(cls);
      }
    };
    mark(old);
    mark(next);
    const anyPeerBefore = this.anyPeerPorts.size;
    const externals = hasNumericEgress(old) || hasNumericEgress(next);
    const ingressPortsChange = hasNumericIngress(old) || hasNumericIngress(next);
    const anyPeerChange = hasAnyPeerNumericEgress(old) || hasAnyPeerNumericEgress(next);

    if (old) {
      for (const cls of this.countEgressPorts(old, -1)) destinations.add(cls);
      this.policies.get(namespace)?.delete(old.ref.name);
      this.projectionCounts.add(old, -1);
    }
    if (next) this.storePolicy(next);
    this.refreshPolicyList(namespace);
    const projection = this.projectionNow();
    this.selectionVersion++;
    if (projection !== this.currentProjection && !sameProjection(projection, this.currentProjection))
      return this.repartition(projection);
    if (next) for (const cls of this.countEgressPorts(next, 1)) destinations.add(cls);
    for (const cls of inNs) {
      const sel = this.select(cls.namespace, cls.representative.labels);
      cls.ingress = sel.ingress;
      cls.egress = sel.egress;
      if (ingressPortsChange) {
        cls.ports = undefined;
        destinations.add(cls);
      }
    }
    const everywhere = anyPeerChange || anyPeerBefore !== this.anyPeerPorts.size;
    return {
      ...NO_CHANGE,
      sources: [...sources].map((c) => c.id),
      destinations: everywhere ? this.classes().map((c) => c.id) : [...destinations].map((c) => c.id),
      externals,
    };
  }

  private repartition(projection: Projection): Change {
    const oldIds = new Set(this.classesById.keys());
    this.rebuild(projection);
    const newIds = new Set(this.classesById.keys());
    return {
      ...NO_CHANGE,
      classesAdded: [...newIds].filter((id) => !oldIds.has(id)) as ClassId[],
      classesRemoved: [...oldIds].filter((id) => !newIds.has(id)) as ClassId[],
      externals: true,
      repartitioned: true,
    };
  }

  /** Re-partitions every pod and recomputes what rules reach, in one pass per rule. */
  private rebuild(projection: Projection): void {
    this.currentProjection = projection;
    this.classesByKey.clear();
    this.classesById.clear();
    this.classOfPod.clear();
    this.classesByNs.clear();
    this.classesByBlock.clear();
    this.ruleSets.clear();
    this.clusterSelections.clear();
    this.sorted = undefined;
    this.numericEgress.clear();
    this.portsVersion++;
    this.bulk = true;
    try {
      for (const pod of this.pods.values()) {
        if (!this.namespaces.has(pod.namespace)) this.implyNamespace(pod.namespace);
        this.place(pod, classKey(pod, projection));
      }
      // Port counts restart from zero: count every policy's numeric egress rules again.
      this.anyPeerPorts.clear();
      this.blockPorts.clear();
      this.allEgressPorts.clear();
      for (const list of this.policyLists.values()) for (const p of list) this.countEgressPorts(p, 1);
    } finally {
      this.bulk = false;
    }
    for (const entry of this.numericEgress.values()) {
      for (const cls of this.classesReachedBy(entry.policy, entry.rule)) {
        cls.reached.add(entry.ports);
      }
    }
  }

  private place(pod: PodInfo, key: string): EngineClass {
    let cls = this.classesByKey.get(key);
    if (!cls) {
      const sel = this.select(pod.namespace, pod.labels);
      const blocks = this.profile.ipBlockMatchesPodIPs.value
        ? this.currentProjection.ipBlocks
            .filter((b) => pod.ips.some((ip) => ipBlockContains(b, ip)))
            .map((b) => b.text)
        : [];
      cls = {
        id: classIdOf(key),
        namespace: pod.namespace,
        key,
        representative: pod,
        members: [],
        endpoint: { kind: 'pod', pod },
        ingress: sel.ingress,
        egress: sel.egress,
        cluster: sel.cluster,
        blocks,
        reached: new PortCounts(),
        ports: undefined,
        portsVersion: -1,
      };
      this.classesByKey.set(key, cls);
      this.classesById.set(cls.id, cls);
      let inNs = this.classesByNs.get(pod.namespace);
      if (!inNs) {
        inNs = new Set();
        this.classesByNs.set(pod.namespace, inNs);
      }
      inNs.add(cls);
      for (const b of blocks) {
        let set = this.classesByBlock.get(b);
        if (!set) {
          set = new Set();
          this.classesByBlock.set(b, set);
        }
        set.add(cls);
      }
      this.sorted = undefined;
      if (!this.bulk) this.recomputeReach(cls);
    }
    cls.members.push(pod);
    this.classOfPod.set(pod.key, cls);
    return cls;
  }

  /** Removes a pod from its class; true if that emptied (and removed) the class. */
  private removeMember(key: PodKey, cls: EngineClass): boolean {
    this.classOfPod.delete(key);
    const i = cls.members.findIndex((m) => m.key === key);
    if (i >= 0) cls.members.splice(i, 1);
    if (cls.members.length > 0) {
      if (cls.representative.key === key) {
        cls.representative = cls.members[0] as PodInfo;
        cls.endpoint = { kind: 'pod', pod: cls.representative };
      }
      return false;
    }
    this.classesByKey.delete(cls.key);
    this.classesById.delete(cls.id);
    this.classesByNs.get(cls.namespace)?.delete(cls);
    for (const b of cls.blocks) this.classesByBlock.get(b)?.delete(cls);
    this.sorted = undefined;
    return true;
  }
}

function classDestination(cls: ExpectClass): Destination {
  return { kind: 'class', id: cls.id, cls, endpoint: cls.endpoint };
}

function externalDestination(target: ExternalTarget): Destination {
  return {
    kind: 'external',
    id: `ip:${target.text}`,
    target,
    endpoint: { kind: 'external', ip: target.ip, text: target.text },
  };
}

function destinationParts(dst: Destination | Subject): { endpoint: Endpoint; subject: Subject | undefined } {
  if ('kind' in dst)
    return dst.kind === 'class'
      ? { endpoint: dst.cls.endpoint, subject: dst.cls }
      : { endpoint: dst.endpoint, subject: undefined };
  return { endpoint: dst.endpoint, subject: dst };
}

function hasNumericEgress(p: CompiledPolicy | undefined): boolean {
  return p?.egress.some((r) => numericRulePorts(r).length > 0) ?? false;
}

function hasNumericIngress(p: CompiledPolicy | undefined): boolean {
  return p?.ingress.some((r) => numericRulePorts(r).length > 0) ?? false;
}

function hasAnyPeerNumericEgress(p: CompiledPolicy | undefined): boolean {
  return p?.egress.some((r) => r.peers.kind === 'any-peer' && numericRulePorts(r).length > 0) ?? false;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
