// A prototype, for the benchmark report only (not used by the product): the same class matrix as
// src/model/matrix.ts computeMatrix (same destinations, same ports, same verdicts up to
// verdictSignature), filled column by column with integer rule masks instead of per-cell strings.
//
// What it changes, to measure what each suggestion of bench/README.md is worth:
//  1. A rule's ports are matched once per (destination, port), not once per (source, destination, port).
//  2. A rule's peers are OR-ed once into one flag per class (Uint8Array), so a cell reads one byte per
//     rule instead of walking the peers.
//  3. A direction verdict is interned by (selecting-set id, mask of the matching rules) as integers;
//     the original builds `${direction}|${setKey}|${rule refs joined}` for every cell, twice.
//  4. Egress is computed once per (egress selecting set, destination, port) and shared by every source
//     class with that set (most classes of a namespace share it), not once per source class.
// It stays dense (classes x destinations x ports cells): quadratic in classes, like the original.
// Cells are stored column-major (one (destination, port) column after the other), so writes are in order.
import type { PodClass } from '../../src/model/classes.ts';
import { type Destination, destinationsOf, type PortSpec } from '../../src/model/matrix.ts';
import { ipBlockContains } from '../../src/policy/cidr.ts';
import { type EvalContext, policiesSelecting, portMatches } from '../../src/policy/evaluate.ts';
import { selectorMatches } from '../../src/policy/labels.ts';
import type {
  CompiledPolicy,
  CompiledRule,
  Direction,
  DirectionVerdict,
  PeerMatcher,
  PolicyRef,
  Verdict,
} from '../../src/policy/types.ts';

interface RuleSet {
  readonly policies: readonly CompiledPolicy[];
  /** The rules of the set's policies for one direction, in evaluation order (policy, then rule). */
  readonly rules: readonly { readonly policy: CompiledPolicy; readonly rule: CompiledRule }[];
  readonly isolatedBy: readonly PolicyRef[];
  /** Direction verdict ids by mask of matching rules. */
  readonly byMask: Map<number, number>;
}

const NOT_ISOLATED: DirectionVerdict = Object.freeze({
  isolated: false,
  allowed: true,
  allowedBy: [],
  isolatedBy: [],
});

export interface MaskedMatrix {
  readonly classes: readonly PodClass[];
  readonly destinations: readonly Destination[];
  readonly offsets: Int32Array;
  readonly rowLength: number;
  readonly cells: Uint32Array;
  readonly table: readonly Verdict[];
  verdictAt(srcIndex: number, dstIndex: number, portIndex: number): Verdict;
}

export function computeMaskedMatrix(
  ctx: EvalContext,
  classes: readonly PodClass[],
  allPolicies: readonly CompiledPolicy[],
): MaskedMatrix {
  const n = classes.length;
  const directionVerdicts: DirectionVerdict[] = [NOT_ISOLATED];

  // Selecting sets, interned by the identity of their policies.
  const sets: RuleSet[] = [];
  const setIds = new Map<string, number>();
  const setOf = (direction: Direction, policies: readonly CompiledPolicy[]): number => {
    if (policies.length === 0) return -1;
    const key = `${direction}|${policies.map((p) => `${p.ref.namespace}/${p.ref.name}`).join(',')}`;
    let id = setIds.get(key);
    if (id === undefined) {
      id = sets.length;
      const rules = policies.flatMap((policy) =>
        (direction === 'ingress' ? policy.ingress : policy.egress).map((rule) => ({ policy, rule })),
      );
      if (rules.length > 30) throw new Error(`prototype: ${rules.length} rules in one set (masks hold 30)`);
      sets.push({ policies, rules, isolatedBy: policies.map((p) => p.ref), byMask: new Map() });
      setIds.set(key, id);
    }
    return id;
  };
  const ingressSet = new Int32Array(n);
  const egressSet = new Int32Array(n);
  classes.forEach((c, i) => {
    ingressSet[i] = setOf('ingress', policiesSelecting(ctx, c.representative, 'ingress'));
    egressSet[i] = setOf('egress', policiesSelecting(ctx, c.representative, 'egress'));
  });

  const directionId = (setId: number, mask: number): number => {
    const set = sets[setId] as RuleSet;
    let id = set.byMask.get(mask);
    if (id === undefined) {
      const allowedBy = set.rules.filter((_, j) => (mask & (1 << j)) !== 0).map((r) => r.rule.ref);
      id = directionVerdicts.length;
      directionVerdicts.push(
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

  // One flag per class for each rule: does any of its peers match the class's pods?
  const nsCache = new Map<object, Map<string, boolean>>();
  const peerFlag = (policy: CompiledPolicy, peer: PeerMatcher, cls: PodClass): boolean => {
    switch (peer.kind) {
      case 'pods-in-policy-namespace':
        return (
          cls.namespace === policy.ref.namespace && selectorMatches(peer.pods, cls.representative.labels)
        );
      case 'pods-in-namespaces': {
        let byNs = nsCache.get(peer.namespaces);
        if (!byNs) {
          byNs = new Map();
          nsCache.set(peer.namespaces, byNs);
        }
        let m = byNs.get(cls.namespace);
        if (m === undefined) {
          m = selectorMatches(peer.namespaces, ctx.namespaceLabels(cls.namespace));
          byNs.set(cls.namespace, m);
        }
        return m && selectorMatches(peer.pods, cls.representative.labels);
      }
      case 'ip-block':
        return (
          ctx.profile.ipBlockMatchesPodIPs.value &&
          cls.representative.ips.some((ip) => ipBlockContains(peer.block, ip))
        );
    }
  };
  const ruleFlags = new Map<CompiledRule, Uint8Array | 'any'>();
  const flagsOf = (policy: CompiledPolicy, rule: CompiledRule): Uint8Array | 'any' => {
    let f = ruleFlags.get(rule);
    if (f) return f;
    if (rule.peers.kind === 'any-peer') f = 'any';
    else {
      const flags = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const cls = classes[i] as PodClass;
        for (const peer of rule.peers.peers) {
          if (peerFlag(policy, peer, cls)) {
            flags[i] = 1;
            break;
          }
        }
      }
      f = flags;
    }
    ruleFlags.set(rule, f);
    return f;
  };

  const destinations = destinationsOf(ctx, classes, allPolicies, {});
  if (destinations.some((d) => d.classIndex < 0)) throw new Error('prototype: external targets not handled');
  const offsets = new Int32Array(destinations.length);
  let rowLength = 0;
  destinations.forEach((d, i) => {
    offsets[i] = rowLength;
    rowLength += d.ports.length;
  });
  const cells = new Uint32Array(n * rowLength);
  const table: Verdict[] = [];
  const pairIds = new Map<number, number>();
  const pairId = (egress: number, ingress: number): number => {
    const key = egress * 4_194_304 + ingress;
    let id = pairIds.get(key);
    if (id === undefined) {
      const e = directionVerdicts[egress] as DirectionVerdict;
      const i = directionVerdicts[ingress] as DirectionVerdict;
      id = table.length;
      table.push(Object.freeze({ allowed: e.allowed && i.allowed, egress: e, ingress: i }));
      pairIds.set(key, id);
    }
    return id;
  };

  // Rules of a set that match a port on a destination: a mask, with the any-peer rules apart.
  const portMask = (set: RuleSet, dst: Destination, port: PortSpec): number => {
    let mask = 0;
    set.rules.forEach(({ rule }, j) => {
      if (
        rule.ports.kind === 'any-port' ||
        rule.ports.ports.some((m) => portMatches(m, dst.endpoint, port.port, port.protocol))
      ) {
        mask |= 1 << j;
      }
    });
    return mask;
  };

  const egressIds = new Int32Array(sets.length);
  const ingressOf = new Int32Array(n);
  const masks = new Int32Array(n);
  const egressSetsUsed = [...new Set(egressSet)].filter((s) => s >= 0);
  for (let d = 0; d < destinations.length; d++) {
    const dst = destinations[d] as Destination;
    const di = dst.classIndex;
    const inSet = di >= 0 ? (ingressSet[di] as number) : -1;
    for (let p = 0; p < dst.ports.length; p++) {
      const port = dst.ports[p] as PortSpec;
      // Egress: once per egress selecting set.
      for (const e of egressSetsUsed) {
        const set = sets[e] as RuleSet;
        const ports = portMask(set, dst, port);
        let mask = 0;
        set.rules.forEach(({ policy, rule }, j) => {
          if ((ports & (1 << j)) === 0) return;
          const f = flagsOf(policy, rule);
          if (f === 'any' || (di >= 0 && f[di] === 1)) mask |= 1 << j;
        });
        egressIds[e] = directionId(e, mask);
      }
      // Ingress: one mask per source class from the rule flags.
      if (inSet < 0) ingressOf.fill(0);
      else {
        const set = sets[inSet] as RuleSet;
        const ports = portMask(set, dst, port);
        masks.fill(0);
        set.rules.forEach(({ policy, rule }, j) => {
          if ((ports & (1 << j)) === 0) return;
          const f = flagsOf(policy, rule);
          const bit = 1 << j;
          if (f === 'any') for (let s = 0; s < n; s++) masks[s] = (masks[s] as number) | bit;
          else for (let s = 0; s < n; s++) if (f[s] === 1) masks[s] = (masks[s] as number) | bit;
        });
        let lastMask = -1;
        let lastId = 0;
        for (let s = 0; s < n; s++) {
          const m = masks[s] as number;
          if (m !== lastMask) {
            lastMask = m;
            lastId = directionId(inSet, m);
          }
          ingressOf[s] = lastId;
        }
      }
      // Column-major: the cells of one (destination, port) are contiguous, written in order.
      const at = ((offsets[d] as number) + p) * n;
      let lastKey = -1;
      let lastPair = 0;
      for (let s = 0; s < n; s++) {
        const e = egressSet[s] as number;
        const eg = e < 0 ? 0 : (egressIds[e] as number);
        const ing = ingressOf[s] as number;
        const key = eg * 4_194_304 + ing;
        if (key !== lastKey) {
          lastKey = key;
          lastPair = pairId(eg, ing);
        }
        cells[at + s] = lastPair;
      }
    }
  }
  return {
    classes,
    destinations,
    offsets,
    rowLength,
    cells,
    table,
    verdictAt(s, d, p) {
      return table[cells[((offsets[d] as number) + p) * n + s] as number] as Verdict;
    },
  };
}
