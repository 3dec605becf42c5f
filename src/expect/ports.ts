// Which ports a destination is evaluated (and probed) on, when the user names none: its container
// ports, the numeric ports of the ingress rules in its namespace, and the numeric ports of the egress
// rules anywhere whose peers reach it. External targets: the numeric ports of every egress rule (the
// same for all of them, so an address just outside a CIDR is evaluated on the ports its neighbour
// inside is allowed on).
import { type PortSpec, portKey } from '../core/traffic.ts';
import type { CompiledClusterRule, CompiledRule, ParsedIP } from '../policy/types.ts';

export interface ExternalTarget {
  readonly text: string;
  readonly ip: ParsedIP;
  /** Ports this target listens on (`--external IP=53/UDP,443/TCP`); default: the ports egress rules name. */
  readonly ports?: readonly PortSpec[] | undefined;
}

/** Port used for external targets when no egress rule names a port. */
export const DEFAULT_EXTERNAL_PORT: PortSpec = { port: 80, protocol: 'TCP' };

export function sortPorts(ports: Iterable<PortSpec>): PortSpec[] {
  const unique = new Map<string, PortSpec>();
  for (const p of ports) unique.set(portKey(p), p);
  return [...unique.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

const NONE: readonly PortSpec[] = Object.freeze([]);
const numericCache = new WeakMap<CompiledRule, readonly PortSpec[]>();

/** The numeric ports a rule's port list names: both ends of a range (a probe of each edge shows the range works). */
function rangeEdges(ports: CompiledRule['ports'] | CompiledClusterRule['ports']): PortSpec[] {
  const out: PortSpec[] = [];
  if (ports.kind !== 'ports') return out;
  for (const m of ports.ports) {
    if (m.kind !== 'port-range') continue;
    out.push({ port: m.from, protocol: m.protocol });
    if (m.to !== m.from) out.push({ port: m.to, protocol: m.protocol });
  }
  return out;
}

/** The numeric ports a NetworkPolicy rule names. */
export function numericRulePorts(rule: CompiledRule): readonly PortSpec[] {
  if (rule.ports.kind !== 'ports') return NONE;
  let known = numericCache.get(rule);
  if (!known) {
    known = rangeEdges(rule.ports);
    numericCache.set(rule, known);
  }
  return known;
}

const clusterCache = new WeakMap<CompiledClusterRule, readonly PortSpec[]>();

/** The numeric ports a ClusterNetworkPolicy rule names, as for NetworkPolicy rules. */
export function clusterRulePorts(rule: CompiledClusterRule): readonly PortSpec[] {
  if (rule.ports.kind !== 'ports') return NONE;
  let known = clusterCache.get(rule);
  if (!known) {
    known = rangeEdges(rule.ports);
    clusterCache.set(rule, known);
  }
  return known;
}

/** A multiset of ports: contributions come and go with rules, a port stays while any rule names it. */
export class PortCounts {
  /** Keyed by port * 4 + protocol index: no string per contribution. */
  private readonly counts = new Map<number, { spec: PortSpec; n: number }>();

  add(ports: readonly PortSpec[], by = 1): void {
    for (const p of ports) {
      const k = p.port * 4 + (p.protocol === 'TCP' ? 0 : p.protocol === 'UDP' ? 1 : 2);
      const e = this.counts.get(k);
      if (e) {
        e.n += by;
        if (e.n <= 0) this.counts.delete(k);
      } else if (by > 0) this.counts.set(k, { spec: p, n: by });
    }
  }

  clear(): void {
    this.counts.clear();
  }

  /** Adds every count of `other` (a copy, for an engine's fork). */
  copyFrom(other: PortCounts): void {
    for (const [k, e] of other.counts)
      this.counts.set(k, { spec: e.spec, n: (this.counts.get(k)?.n ?? 0) + e.n });
  }

  get size(): number {
    return this.counts.size;
  }

  *[Symbol.iterator](): Generator<PortSpec> {
    for (const e of this.counts.values()) yield e.spec;
  }
}
