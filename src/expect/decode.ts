// Expands any cell of the factored form (factored.ts) into its verdict, with nothing but the form
// itself: the small decoder a consumer of `analyze --classes -o json` needs. Decides exactly as the
// engine does (a test holds it to per-pod verdicts on random clusters). With ClusterNetworkPolicies,
// each direction goes through their Admin tier, the NetworkPolicy rule set, then their Baseline tier:
// policies by priority, the first matching rule of each; equal priorities that disagree, or a peer
// unknown offline, leave the direction undetermined.
import type { FactoredAnalysisWithCluster, FactoredPort, FactoredRule } from './factored.ts';
import type { FactoredClusterPort, FactoredClusterSelection } from './factored-cluster.ts';

export interface DecodedDirection {
  readonly isolated: boolean;
  readonly allowed: boolean;
  readonly allowedBy: readonly string[];
  readonly isolatedBy: readonly string[];
  readonly tier?: 'Admin' | 'Baseline';
  readonly deniedBy?: readonly string[];
  readonly passedBy?: readonly string[];
  readonly undetermined?: { readonly why: string; readonly rules: readonly string[] };
}

/** Where the other end is, for a peer set: a class or an external target (by index). */
interface PeerEnd {
  readonly cls: number | undefined;
  readonly ext: number | undefined;
}

type Answer = 'yes' | 'no' | { readonly why: string };

export interface DecodedVerdict {
  readonly allowed: boolean;
  readonly egress: DecodedDirection;
  readonly ingress: DecodedDirection;
}

const OPEN: DecodedDirection = { isolated: false, allowed: true, allowedBy: [], isolatedBy: [] };

export class FactoredDecoder {
  private readonly form: FactoredAnalysisWithCluster;
  private readonly classIndex: Map<string, number>;
  private readonly externalIndex: Map<string, number>;
  private readonly peerClasses: ReadonlySet<number>[];
  private readonly peerExternals: ReadonlySet<number>[];

  constructor(form: FactoredAnalysisWithCluster) {
    this.form = form;
    this.classIndex = new Map(form.classes.map((c, i) => [c.id, i]));
    this.externalIndex = new Map(form.externals.map((e, i) => [e.id, i]));
    this.peerClasses = form.peerSets.map((p) => new Set(p.classes));
    this.peerExternals = form.peerSets.map((p) => new Set(p.externals));
  }

  /** The verdict of traffic from a class to a class or external target (`ip:...`) on a port. */
  verdict(from: string, to: string, port: number, protocol: string): DecodedVerdict | undefined {
    const s = this.classIndex.get(from);
    const src = s === undefined ? undefined : this.form.classes[s];
    if (!src || s === undefined) return undefined;
    const d = this.classIndex.get(to);
    const e = this.externalIndex.get(to);
    if (d === undefined && e === undefined) return undefined;
    const dst = d === undefined ? undefined : this.form.classes[d];
    const named = dst?.namedPorts ?? {};
    const egress = this.tiered(
      this.selectionOf(s),
      () => this.direction(src.egress, port, protocol, named, (r) => this.reaches(r, d, e)),
      'egress',
      { cls: d, ext: e },
      named,
      port,
      protocol,
    );
    const ingress =
      dst === undefined || d === undefined
        ? OPEN
        : this.tiered(
            this.selectionOf(d),
            () => this.direction(dst.ingress, port, protocol, named, (r) => this.reaches(r, s, undefined)),
            'ingress',
            { cls: s, ext: undefined },
            named,
            port,
            protocol,
          );
    return { allowed: egress.allowed && ingress.allowed, egress, ingress };
  }

  private selectionOf(cls: number): FactoredClusterSelection | undefined {
    const i = this.form.classClusters?.[cls];
    return i === undefined || i === null ? undefined : this.form.clusterSelections?.[i];
  }

  /** Admin tier, the NetworkPolicy rule set, Baseline tier: the first that decides. */
  private tiered(
    sel: FactoredClusterSelection | undefined,
    networkPolicy: () => DecodedDirection,
    direction: 'ingress' | 'egress',
    peer: PeerEnd,
    named: Readonly<Record<string, number>>,
    port: number,
    protocol: string,
  ): DecodedDirection {
    if (!sel) return networkPolicy();
    const passedBy: string[] = [];
    const passed = () => (passedBy.length > 0 ? { passedBy } : {});
    const cluster = (tier: 'Admin' | 'Baseline', list: readonly number[]): DecodedDirection | undefined => {
      const o = this.decideTier(list, direction, peer, named, port, protocol);
      if (o === undefined) return undefined;
      if ('why' in o)
        return {
          isolated: true,
          allowed: false,
          allowedBy: [],
          isolatedBy: [],
          undetermined: o,
          ...passed(),
        };
      if (o.action === 'Pass') {
        passedBy.push(...o.rules);
        return undefined;
      }
      return o.action === 'Accept'
        ? { isolated: true, allowed: true, allowedBy: o.rules, isolatedBy: [], tier, ...passed() }
        : {
            isolated: true,
            allowed: false,
            allowedBy: [],
            isolatedBy: [],
            tier,
            deniedBy: o.rules,
            ...passed(),
          };
    };
    const admin = cluster('Admin', sel.admin);
    if (admin) return admin;
    const np = networkPolicy();
    if (np.isolated) return { ...np, ...passed() };
    return cluster('Baseline', sel.baseline) ?? { ...OPEN, ...passed() };
  }

  /** One tier: policies by priority; within one, its first matching rule; equal priorities must agree. */
  private decideTier(
    list: readonly number[],
    direction: 'ingress' | 'egress',
    peer: PeerEnd,
    named: Readonly<Record<string, number>>,
    port: number,
    protocol: string,
  ): { action: string; rules: string[] } | { why: string; rules: string[] } | undefined {
    const policies = list.map((i) => this.form.clusterPolicies?.[i]).filter((p) => p !== undefined);
    let i = 0;
    while (i < policies.length) {
      const priority = policies[i]?.priority;
      const decided: { action: string; ref: string }[] = [];
      let unknown: { why: string; rules: string[] } | undefined;
      for (; i < policies.length && policies[i]?.priority === priority; i++) {
        for (const ri of policies[i]?.[direction] ?? []) {
          const rule = this.form.clusterRules?.[ri];
          if (!rule) continue;
          const a = this.clusterRuleAnswer(rule.peers, rule.ports, peer, named, port, protocol);
          if (a === 'no') continue;
          if (a === 'yes') decided.push({ action: rule.action, ref: rule.ref });
          else unknown ??= { why: a.why, rules: [rule.ref] };
          break;
        }
      }
      if (unknown) return unknown;
      if (decided.length === 0) continue;
      const action = decided[0]?.action as string;
      const rules = decided.map((x) => x.ref);
      return decided.every((x) => x.action === action) ? { action, rules } : { why: 'equal-priority', rules };
    }
    return undefined;
  }

  private clusterRuleAnswer(
    peers: readonly number[],
    ports: 'any' | readonly FactoredClusterPort[],
    peer: PeerEnd,
    named: Readonly<Record<string, number>>,
    port: number,
    protocol: string,
  ): Answer {
    if (ports !== 'any' && !ports.some((m) => clusterPortOk(m, port, protocol, named))) return 'no';
    let unknown: Answer = 'no';
    for (const p of peers) {
      const set = this.form.clusterPeerSets?.[p];
      if (!set) continue;
      const yes =
        peer.cls !== undefined ? set.classes.includes(peer.cls) : set.externals.includes(peer.ext ?? -1);
      if (yes) return 'yes';
      const maybe =
        peer.cls !== undefined
          ? set.unknownClasses.includes(peer.cls)
          : set.unknownExternals.includes(peer.ext ?? -1);
      if (maybe && unknown === 'no') unknown = { why: set.unknownWhy ?? 'unknown' };
    }
    return unknown;
  }

  private direction(
    setIndex: number | null,
    port: number,
    protocol: string,
    named: Readonly<Record<string, number>>,
    peerOk: (r: FactoredRule) => boolean,
  ): DecodedDirection {
    if (setIndex === null) return OPEN;
    const set = this.form.ruleSets[setIndex];
    if (!set) return OPEN;
    const allowedBy: string[] = [];
    for (const ri of set.rules) {
      const rule = this.form.rules[ri];
      if (rule && portOk(rule, port, protocol, named) && peerOk(rule)) allowedBy.push(rule.ref);
    }
    return { isolated: true, allowed: allowedBy.length > 0, allowedBy, isolatedBy: set.isolatedBy };
  }

  private reaches(rule: FactoredRule, cls: number | undefined, external: number | undefined): boolean {
    if (rule.peers === 'any') return true;
    return rule.peers.some((p) =>
      cls !== undefined
        ? this.peerClasses[p]?.has(cls)
        : external !== undefined && this.peerExternals[p]?.has(external),
    );
  }
}

function clusterPortOk(
  m: FactoredClusterPort,
  port: number,
  protocol: string,
  named: Readonly<Record<string, number>>,
): boolean {
  if ('name' in m)
    return (m.protocol === 'any' || m.protocol === protocol) && named[`${m.name}/${protocol}`] === port;
  return m.protocol === protocol && port >= m.from && port <= m.to;
}

function portOk(
  rule: FactoredRule,
  port: number,
  protocol: string,
  named: Readonly<Record<string, number>>,
): boolean {
  if (rule.ports === 'any') return true;
  return rule.ports.some((m: FactoredPort) => {
    if (m.protocol !== protocol) return false;
    if ('name' in m) return named[`${m.name}/${protocol}`] === port;
    return port >= m.from && port <= m.to;
  });
}
