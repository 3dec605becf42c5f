// The expected reachability matrix, computed per class and expanded to pods only for output.
//
// Speed comes from three things (see bench/README.md):
//  - every pod selector is evaluated once per class, not once per pod pair;
//  - a rule's peer is turned once into a flag per class (Uint8Array), so a pair costs a few
//    array reads per rule;
//  - verdicts are interned (most pairs share a handful of distinct verdicts) and the matrix stores
//    an index per (source class, destination, port) in a typed array.
import { ipBlockContains } from '../policy/cidr.ts';
import { type EvalContext, peerMatches, policiesSelecting, portMatches } from '../policy/evaluate.ts';
import { selectorMatches } from '../policy/labels.ts';
import type {
  CompiledPolicy,
  CompiledRule,
  Direction,
  DirectionVerdict,
  Endpoint,
  ParsedIP,
  PeerMatcher,
  PodInfo,
  Protocol,
  RuleRef,
  Verdict,
} from '../policy/types.ts';
import { formatPolicyRef, formatRuleRef, type PolicyRef } from '../policy/types.ts';
import type { ClassId, PodClass } from './classes.ts';

export interface PortSpec {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface ExternalTarget {
  readonly text: string;
  readonly ip: ParsedIP;
  /** Ports this target listens on (`--external IP=53/UDP,443/TCP`); default: the ports egress rules name. */
  readonly ports?: readonly PortSpec[] | undefined;
}

/** Where traffic goes: a class, or an external address (`ip:203.0.113.8`). */
export type TargetId = ClassId | `ip:${string}`;

export interface ClassVerdict {
  readonly from: ClassId;
  readonly to: TargetId;
  readonly port: number;
  readonly protocol: Protocol;
  readonly verdict: Verdict;
}

export interface MatrixOptions {
  /** Evaluate exactly these ports; default: per destination, its container ports plus the numeric ports rules name. */
  readonly ports?: readonly PortSpec[] | undefined;
  readonly externals?: readonly ExternalTarget[] | undefined;
}

/** Port used for external targets when no egress rule names a port. */
export const DEFAULT_EXTERNAL_PORT: PortSpec = { port: 80, protocol: 'TCP' };

function portKey(p: PortSpec): string {
  return `${p.port}/${p.protocol}`;
}

export function sortPorts(ports: Iterable<PortSpec>): PortSpec[] {
  const unique = new Map<string, PortSpec>();
  for (const p of ports) unique.set(portKey(p), p);
  return [...unique.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

function numericRulePorts(rules: readonly CompiledRule[], out: PortSpec[]): void {
  for (const rule of rules) {
    if (rule.ports.kind !== 'ports') continue;
    for (const m of rule.ports.ports) {
      if (m.kind !== 'port-range') continue;
      out.push({ port: m.from, protocol: m.protocol });
      if (m.to !== m.from) out.push({ port: m.to, protocol: m.protocol });
    }
  }
}

/**
 * Default ports of a destination. A pod: its container ports, the numeric ports of the ingress rules
 * of the policies in its namespace, and those of egress rules anywhere whose peers can reach it.
 * An external target: the numeric ports of every egress rule (the same for every external target, so
 * an address just outside a CIDR is evaluated on the ports its neighbour inside is allowed on).
 */
export function defaultPortsFor(
  ctx: EvalContext,
  allPolicies: readonly CompiledPolicy[],
  destination: Endpoint,
): PortSpec[] {
  const out: PortSpec[] = [];
  if (destination.kind === 'external') {
    for (const policy of allPolicies) numericRulePorts(policy.egress, out);
    if (out.length === 0) out.push(DEFAULT_EXTERNAL_PORT);
    return sortPorts(out);
  }
  for (const p of destination.pod.ports) out.push({ port: p.port, protocol: p.protocol });
  for (const policy of ctx.policiesIn(destination.pod.namespace)) numericRulePorts(policy.ingress, out);
  for (const policy of allPolicies) {
    const reaching = policy.egress.filter(
      (rule) =>
        rule.ports.kind === 'ports' &&
        (rule.peers.kind === 'any-peer' ||
          rule.peers.peers.some((peer) => peerMatches(ctx, policy, peer, destination))),
    );
    numericRulePorts(reaching, out);
  }
  return sortPorts(out);
}

export interface Destination {
  readonly id: TargetId;
  readonly endpoint: Endpoint;
  readonly ports: readonly PortSpec[];
  /** Index in the class list, or -1 for an external target. */
  readonly classIndex: number;
}

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

/** A stable text of a verdict, to compare verdicts across computations. */
export function verdictSignature(v: Verdict): string {
  const d = (x: DirectionVerdict): string =>
    `${x.isolated ? 'i' : '-'}${x.allowed ? 'a' : 'd'}:${x.allowedBy.map(formatRuleRef).join(',')}:${x.isolatedBy.map(formatPolicyRef).join(',')}`;
  return `${v.allowed ? 'A' : 'D'}|${d(v.egress)}|${d(v.ingress)}`;
}

/**
 * Evaluates traffic between classes with caches. Gives exactly evaluate()'s verdicts (a property test
 * holds it to that), faster.
 */
export class ClassEvaluator {
  readonly ctx: EvalContext;
  readonly classes: readonly PodClass[];
  private readonly selection: { ingress: CompiledPolicy[]; egress: CompiledPolicy[] }[];
  private readonly peerFlags = new Map<PeerMatcher, Uint8Array>();
  private readonly nsMatchCache = new Map<object, Map<string, boolean>>();
  private readonly directionIntern = new Map<string, DirectionVerdict>();
  private readonly verdictIntern = new Map<DirectionVerdict, Map<DirectionVerdict, Verdict>>();
  /** Interned policy sets: equal sets share one key, so direction verdicts intern per set. */
  private readonly setKeys = new Map<readonly CompiledPolicy[], string>();

  constructor(ctx: EvalContext, classes: readonly PodClass[]) {
    this.ctx = ctx;
    this.classes = classes;
    this.selection = classes.map((c) => ({
      ingress: policiesSelecting(ctx, c.representative, 'ingress'),
      egress: policiesSelecting(ctx, c.representative, 'egress'),
    }));
  }

  private namespaceMatches(
    selector: PeerMatcher & { kind: 'pods-in-namespaces' },
    namespace: string,
  ): boolean {
    let byNs = this.nsMatchCache.get(selector.namespaces);
    if (!byNs) {
      byNs = new Map();
      this.nsMatchCache.set(selector.namespaces, byNs);
    }
    let m = byNs.get(namespace);
    if (m === undefined) {
      m = selectorMatches(selector.namespaces, this.ctx.namespaceLabels(namespace));
      byNs.set(namespace, m);
    }
    return m;
  }

  /** 1 where the peer matches the class's pods (cached per peer). */
  flags(policy: CompiledPolicy, peer: PeerMatcher): Uint8Array {
    let f = this.peerFlags.get(peer);
    if (f) return f;
    f = new Uint8Array(this.classes.length);
    for (let i = 0; i < this.classes.length; i++) {
      const cls = this.classes[i] as PodClass;
      const pod = cls.representative;
      switch (peer.kind) {
        case 'pods-in-policy-namespace':
          f[i] = cls.namespace === policy.ref.namespace && selectorMatches(peer.pods, pod.labels) ? 1 : 0;
          break;
        case 'pods-in-namespaces':
          f[i] = this.namespaceMatches(peer, cls.namespace) && selectorMatches(peer.pods, pod.labels) ? 1 : 0;
          break;
        case 'ip-block':
          f[i] =
            this.ctx.profile.ipBlockMatchesPodIPs.value &&
            pod.ips.some((ip) => ipBlockContains(peer.block, ip))
              ? 1
              : 0;
          break;
      }
    }
    this.peerFlags.set(peer, f);
    return f;
  }

  private peerOk(policy: CompiledPolicy, rule: CompiledRule, peer: Endpoint, peerClass: number): boolean {
    if (rule.peers.kind === 'any-peer') return true;
    for (const p of rule.peers.peers) {
      if (peerClass >= 0 ? this.flags(policy, p)[peerClass] === 1 : peerMatches(this.ctx, policy, p, peer))
        return true;
    }
    return false;
  }

  private setKey(set: readonly CompiledPolicy[]): string {
    let k = this.setKeys.get(set);
    if (k === undefined) {
      k = set.map((p) => formatPolicyRef(p.ref)).join(',');
      this.setKeys.set(set, k);
    }
    return k;
  }

  private direction(
    direction: Direction,
    selecting: readonly CompiledPolicy[],
    peer: Endpoint,
    peerClass: number,
    destination: Endpoint,
    port: number,
    protocol: Protocol,
  ): DirectionVerdict {
    if (selecting.length === 0) return NOT_ISOLATED;
    let matched: RuleRef[] | undefined;
    for (const policy of selecting) {
      for (const rule of direction === 'ingress' ? policy.ingress : policy.egress) {
        const portOk =
          rule.ports.kind === 'any-port' ||
          rule.ports.ports.some((m) => portMatches(m, destination, port, protocol));
        if (portOk && this.peerOk(policy, rule, peer, peerClass)) {
          matched ??= [];
          matched.push(rule.ref);
        }
      }
    }
    const key = `${direction}|${this.setKey(selecting)}|${matched ? matched.map(formatRuleRef).join(',') : ''}`;
    let v = this.directionIntern.get(key);
    if (!v) {
      v = Object.freeze({
        isolated: true,
        allowed: matched !== undefined,
        allowedBy: matched ?? [],
        isolatedBy: selecting.map((p) => p.ref),
      });
      this.directionIntern.set(key, v);
    }
    return v;
  }

  private intern(egress: DirectionVerdict, ingress: DirectionVerdict): Verdict {
    let byIngress = this.verdictIntern.get(egress);
    if (!byIngress) {
      byIngress = new Map();
      this.verdictIntern.set(egress, byIngress);
    }
    let v = byIngress.get(ingress);
    if (!v) {
      v = Object.freeze({ allowed: egress.allowed && ingress.allowed, egress, ingress });
      byIngress.set(ingress, v);
    }
    return v;
  }

  evaluate(srcIndex: number, dst: Destination, port: number, protocol: Protocol): Verdict {
    const src = this.classes[srcIndex] as PodClass;
    const sel = this.selection[srcIndex] as { egress: CompiledPolicy[] };
    const egress = this.direction(
      'egress',
      sel.egress,
      dst.endpoint,
      dst.classIndex,
      dst.endpoint,
      port,
      protocol,
    );
    if (dst.classIndex < 0) return this.intern(egress, EXTERNAL_INGRESS);
    const dsel = this.selection[dst.classIndex] as { ingress: CompiledPolicy[] };
    const source: Endpoint = { kind: 'pod', pod: src.representative };
    const ingress = this.direction('ingress', dsel.ingress, source, srcIndex, dst.endpoint, port, protocol);
    return this.intern(egress, ingress);
  }

  selectingPolicies(classIndex: number, direction: Direction): readonly CompiledPolicy[] {
    return (this.selection[classIndex] as Record<Direction, CompiledPolicy[]>)[direction];
  }
}

/**
 * Verdicts between every source class and every destination (classes and external targets), per
 * port: one verdict index per cell in a Uint32Array, stored column by column ((destination, port)
 * after (destination, port)), so a column is written in order and shares its egress answers.
 */
export class ClassMatrix {
  readonly classes: readonly PodClass[];
  readonly externals: readonly ExternalTarget[];
  readonly destinations: readonly Destination[];
  /** Column of each destination's first port. */
  private readonly offsets: Int32Array;
  private readonly cells: Uint32Array;
  private readonly table: readonly Verdict[];

  constructor(
    classes: readonly PodClass[],
    externals: readonly ExternalTarget[],
    destinations: readonly Destination[],
    offsets: Int32Array,
    cells: Uint32Array,
    table: readonly Verdict[],
  ) {
    this.classes = classes;
    this.externals = externals;
    this.destinations = destinations;
    this.offsets = offsets;
    this.cells = cells;
    this.table = table;
  }

  /** Number of (source class, destination, port) verdicts. */
  get size(): number {
    return this.cells.length;
  }

  /** Distinct verdicts in the matrix. */
  get distinctVerdicts(): number {
    return this.table.length;
  }

  verdictAt(srcIndex: number, dstIndex: number, portIndex: number): Verdict {
    const column = (this.offsets[dstIndex] as number) + portIndex;
    return this.table[this.cells[column * this.classes.length + srcIndex] as number] as Verdict;
  }

  *verdicts(): Generator<ClassVerdict> {
    for (let s = 0; s < this.classes.length; s++) {
      const from = (this.classes[s] as PodClass).id;
      for (let d = 0; d < this.destinations.length; d++) {
        const dst = this.destinations[d] as Destination;
        for (let p = 0; p < dst.ports.length; p++) {
          const { port, protocol } = dst.ports[p] as PortSpec;
          yield { from, to: dst.id, port, protocol, verdict: this.verdictAt(s, d, p) };
        }
      }
    }
  }
}

function columnOffsets(destinations: readonly Destination[]): { offsets: Int32Array; columns: number } {
  const offsets = new Int32Array(destinations.length);
  let columns = 0;
  destinations.forEach((d, i) => {
    offsets[i] = columns;
    columns += d.ports.length;
  });
  return { offsets, columns };
}

/** The straightforward fill: one evaluator call per cell (any number of rules per policy set). */
function fillMatrix(
  evaluator: ClassEvaluator,
  classes: readonly PodClass[],
  externals: readonly ExternalTarget[],
  destinations: readonly Destination[],
): ClassMatrix {
  const n = classes.length;
  const { offsets, columns } = columnOffsets(destinations);
  const cells = new Uint32Array(n * columns);
  const table: Verdict[] = [];
  const index = new Map<Verdict, number>();
  destinations.forEach((dst, d) => {
    dst.ports.forEach((port, p) => {
      const at = ((offsets[d] as number) + p) * n;
      for (let s = 0; s < n; s++) {
        const v = evaluator.evaluate(s, dst, port.port, port.protocol);
        let i = index.get(v);
        if (i === undefined) {
          i = table.length;
          table.push(v);
          index.set(v, i);
        }
        cells[at + s] = i;
      }
    });
  });
  return new ClassMatrix(classes, externals, destinations, offsets, cells, table);
}

interface RuleSet {
  readonly rules: readonly { readonly policy: CompiledPolicy; readonly rule: CompiledRule }[];
  readonly isolatedBy: readonly PolicyRef[];
  /** Direction verdict ids by mask of the rules that match. */
  readonly byMask: Map<number, number>;
}

/** Rule masks are 31-bit integers: larger policy sets use the straightforward fill. */
const MAX_MASKED_RULES = 31;

/**
 * The fast fill (bench/README.md): rules are numbered per selecting set and a direction verdict is
 * the set plus the mask of its matching rules; a rule's ports are matched once per column; egress is
 * decided once per (egress set, column) and shared by every source class with that set; ingress
 * masks of a column come from the rules' class flags. Returns undefined when a set has too many rules.
 */
function maskedMatrix(
  ctx: EvalContext,
  evaluator: ClassEvaluator,
  classes: readonly PodClass[],
  externals: readonly ExternalTarget[],
  destinations: readonly Destination[],
): ClassMatrix | undefined {
  const n = classes.length;
  const directions: DirectionVerdict[] = [NOT_ISOLATED, EXTERNAL_INGRESS];
  const sets: RuleSet[] = [];
  const setIds = new Map<readonly CompiledPolicy[], number>();
  const setKeys = new Map<string, number>();
  const setOf = (direction: Direction, policies: readonly CompiledPolicy[]): number => {
    if (policies.length === 0) return -1;
    const known = setIds.get(policies);
    if (known !== undefined) return known;
    const key = `${direction}|${policies.map((p) => formatPolicyRef(p.ref)).join(',')}`;
    let id = setKeys.get(key);
    if (id === undefined) {
      id = sets.length;
      const rules = policies.flatMap((policy) =>
        (direction === 'ingress' ? policy.ingress : policy.egress).map((rule) => ({ policy, rule })),
      );
      sets.push({ rules, isolatedBy: policies.map((p) => p.ref), byMask: new Map() });
      setKeys.set(key, id);
    }
    setIds.set(policies, id);
    return id;
  };
  const ingressSet = new Int32Array(n);
  const egressSet = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ingressSet[i] = setOf('ingress', evaluator.selectingPolicies(i, 'ingress'));
    egressSet[i] = setOf('egress', evaluator.selectingPolicies(i, 'egress'));
  }
  if (sets.some((set) => set.rules.length > MAX_MASKED_RULES)) return undefined;

  const directionId = (setId: number, mask: number): number => {
    const set = sets[setId] as RuleSet;
    let id = set.byMask.get(mask);
    if (id === undefined) {
      const allowedBy = set.rules.filter((_, j) => (mask & (1 << j)) !== 0).map((r) => r.rule.ref);
      id = directions.length;
      directions.push(
        Object.freeze({
          isolated: true,
          allowed: allowedBy.length > 0,
          allowedBy,
          isolatedBy: set.isolatedBy,
        }),
      );
      set.byMask.set(mask, id);
    }
    return id;
  };
  /** 1 where any peer of the rule matches the class; undefined for a rule without peers (any peer). */
  const ruleFlags = new Map<CompiledRule, Uint8Array | undefined>();
  const flagsOf = (policy: CompiledPolicy, rule: CompiledRule): Uint8Array | undefined => {
    if (ruleFlags.has(rule)) return ruleFlags.get(rule);
    let flags: Uint8Array | undefined;
    if (rule.peers.kind === 'peers') {
      flags = new Uint8Array(n);
      for (const peer of rule.peers.peers) {
        const f = evaluator.flags(policy, peer);
        for (let i = 0; i < n; i++) flags[i] = (flags[i] as number) | (f[i] as number);
      }
    }
    ruleFlags.set(rule, flags);
    return flags;
  };
  const portMask = (set: RuleSet, dst: Destination, port: PortSpec): number => {
    let mask = 0;
    for (let j = 0; j < set.rules.length; j++) {
      const { rule } = set.rules[j] as { rule: CompiledRule };
      if (
        rule.ports.kind === 'any-port' ||
        rule.ports.ports.some((m) => portMatches(m, dst.endpoint, port.port, port.protocol))
      ) {
        mask |= 1 << j;
      }
    }
    return mask;
  };

  const { offsets, columns } = columnOffsets(destinations);
  const cells = new Uint32Array(n * columns);
  const table: Verdict[] = [];
  const pairs = new Map<number, number>();
  const pairId = (egress: number, ingress: number): number => {
    const key = egress * 0x400000 + ingress;
    let id = pairs.get(key);
    if (id === undefined) {
      const e = directions[egress] as DirectionVerdict;
      const i = directions[ingress] as DirectionVerdict;
      id = table.length;
      table.push(Object.freeze({ allowed: e.allowed && i.allowed, egress: e, ingress: i }));
      pairs.set(key, id);
    }
    return id;
  };
  const egressSetsUsed = [...new Set(egressSet)].filter((e) => e >= 0);
  const egressIds = new Int32Array(sets.length);
  const ingressIds = new Int32Array(n);
  const masks = new Int32Array(n);
  for (let d = 0; d < destinations.length; d++) {
    const dst = destinations[d] as Destination;
    const di = dst.classIndex;
    const inSet = di >= 0 ? (ingressSet[di] as number) : -1;
    for (let p = 0; p < dst.ports.length; p++) {
      const port = dst.ports[p] as PortSpec;
      for (const e of egressSetsUsed) {
        const set = sets[e] as RuleSet;
        const ports = portMask(set, dst, port);
        let mask = 0;
        for (let j = 0; j < set.rules.length; j++) {
          if ((ports & (1 << j)) === 0) continue;
          const { policy, rule } = set.rules[j] as { policy: CompiledPolicy; rule: CompiledRule };
          const reaches =
            di >= 0
              ? (flagsOf(policy, rule)?.[di] ?? 1) === 1
              : rule.peers.kind === 'any-peer' ||
                rule.peers.peers.some((peer) => peerMatches(ctx, policy, peer, dst.endpoint));
          if (reaches) mask |= 1 << j;
        }
        egressIds[e] = directionId(e, mask);
      }
      if (di < 0) ingressIds.fill(1);
      else if (inSet < 0) ingressIds.fill(0);
      else {
        const set = sets[inSet] as RuleSet;
        const ports = portMask(set, dst, port);
        masks.fill(0);
        for (let j = 0; j < set.rules.length; j++) {
          if ((ports & (1 << j)) === 0) continue;
          const { policy, rule } = set.rules[j] as { policy: CompiledPolicy; rule: CompiledRule };
          const f = flagsOf(policy, rule);
          const bit = 1 << j;
          if (!f) for (let s = 0; s < n; s++) masks[s] = (masks[s] as number) | bit;
          else for (let s = 0; s < n; s++) if (f[s] === 1) masks[s] = (masks[s] as number) | bit;
        }
        let lastMask = -1;
        let lastId = 0;
        for (let s = 0; s < n; s++) {
          const m = masks[s] as number;
          if (m !== lastMask) {
            lastMask = m;
            lastId = directionId(inSet, m);
          }
          ingressIds[s] = lastId;
        }
      }
      const at = ((offsets[d] as number) + p) * n;
      let lastKey = -1;
      let lastPair = 0;
      for (let s = 0; s < n; s++) {
        const e = egressSet[s] as number;
        const eg = e < 0 ? 0 : (egressIds[e] as number);
        const key = eg * 0x400000 + (ingressIds[s] as number);
        if (key !== lastKey) {
          lastKey = key;
          lastPair = pairId(eg, ingressIds[s] as number);
        }
        cells[at + s] = lastPair;
      }
    }
  }
  return new ClassMatrix(classes, externals, destinations, offsets, cells, table);
}

export function destinationsOf(
  ctx: EvalContext,
  classes: readonly PodClass[],
  allPolicies: readonly CompiledPolicy[],
  options: MatrixOptions,
  evaluator: ClassEvaluator = new ClassEvaluator(ctx, classes),
): Destination[] {
  const fixed = options.ports ? sortPorts(options.ports) : undefined;
  // defaultPortsFor, for every class at once: each egress rule naming numeric ports is turned into
  // the classes it reaches once (peer flags), instead of matching every rule against every class.
  const reachedPorts: PortSpec[][] = classes.map(() => []);
  if (!fixed) {
    for (const policy of allPolicies) {
      for (const rule of policy.egress) {
        const nums: PortSpec[] = [];
        numericRulePorts([rule], nums);
        if (nums.length === 0) continue;
        if (rule.peers.kind === 'any-peer') {
          for (const list of reachedPorts) list.push(...nums);
          continue;
        }
        const reached = new Uint8Array(classes.length);
        for (const peer of rule.peers.peers) {
          const f = evaluator.flags(policy, peer);
          for (let i = 0; i < f.length; i++) reached[i] = (reached[i] as number) | (f[i] as number);
        }
        for (let i = 0; i < reached.length; i++)
          if (reached[i]) (reachedPorts[i] as PortSpec[]).push(...nums);
      }
    }
  }
  const ingressPortsByNamespace = new Map<string, PortSpec[]>();
  const ingressPorts = (namespace: string): PortSpec[] => {
    let list = ingressPortsByNamespace.get(namespace);
    if (!list) {
      list = [];
      for (const policy of ctx.policiesIn(namespace)) numericRulePorts(policy.ingress, list);
      ingressPortsByNamespace.set(namespace, list);
    }
    return list;
  };
  const out: Destination[] = classes.map((cls, classIndex) => {
    const endpoint: Endpoint = { kind: 'pod', pod: cls.representative };
    if (fixed) return { id: cls.id, endpoint, classIndex, ports: fixed };
    const ports = [
      ...cls.representative.ports.map((p) => ({ port: p.port, protocol: p.protocol })),
      ...ingressPorts(cls.namespace),
      ...(reachedPorts[classIndex] as PortSpec[]),
    ];
    return { id: cls.id, endpoint, classIndex, ports: sortPorts(ports) };
  });
  for (const ext of options.externals ?? []) {
    const endpoint: Endpoint = { kind: 'external', ip: ext.ip, text: ext.text };
    out.push({
      id: `ip:${ext.text}`,
      endpoint,
      classIndex: -1,
      ports: fixed ?? (ext.ports ? sortPorts(ext.ports) : defaultPortsFor(ctx, allPolicies, endpoint)),
    });
  }
  return out;
}

export function computeMatrix(
  ctx: EvalContext,
  classes: readonly PodClass[],
  allPolicies: readonly CompiledPolicy[],
  options: MatrixOptions = {},
): ClassMatrix {
  const evaluator = new ClassEvaluator(ctx, classes);
  const destinations = destinationsOf(ctx, classes, allPolicies, options, evaluator);
  const externals = options.externals ?? [];
  return (
    maskedMatrix(ctx, evaluator, classes, externals, destinations) ??
    fillMatrix(evaluator, classes, externals, destinations)
  );
}

export interface PodVerdict {
  readonly from: PodInfo;
  readonly to:
    | { readonly kind: 'pod'; readonly pod: PodInfo }
    | { readonly kind: 'external'; readonly text: string };
  readonly port: number;
  readonly protocol: Protocol;
  readonly verdict: Verdict;
}

/** Expands class verdicts to pods, skipping a pod's traffic to itself (always allowed, not filtered). */
export function* expandToPods(matrix: ClassMatrix): Generator<PodVerdict> {
  const byId = new Map(matrix.classes.map((c) => [c.id as string, c]));
  for (const v of matrix.verdicts()) {
    const src = byId.get(v.from);
    if (!src) continue;
    if (v.to.startsWith('ip:')) {
      for (const from of src.members) {
        yield {
          from,
          to: { kind: 'external', text: v.to.slice(3) },
          port: v.port,
          protocol: v.protocol,
          verdict: v.verdict,
        };
      }
      continue;
    }
    const dst = byId.get(v.to);
    if (!dst) continue;
    for (const from of src.members) {
      for (const to of dst.members) {
        if (from === to) continue;
        yield { from, to: { kind: 'pod', pod: to }, port: v.port, protocol: v.protocol, verdict: v.verdict };
      }
    }
  }
}
