// The factored form of an analysis (`analyze --classes -o json`): the policies compiled onto classes.
// Its size grows with pods + rules x the classes their peers match, never with classes squared:
//   classes    id, namespace, members, the rule set selecting it per direction, its named ports
//              (those rules mention) and the ports it is evaluated on;
//   externals  external targets and their ports;
//   peerSets   one per distinct peer: the classes (and external targets) it matches, by index;
//   rules      reference, peers (peer set indexes, or "any"), ports ("any", ranges, names);
//   ruleSets   per direction, the rules of the policies that select a class, and those policies.
// A verdict is decided from these alone (see decode.ts): egress from the source's egress rule set,
// ingress from the destination's ingress rule set, exactly as the engine decides it; with
// ClusterNetworkPolicies, their Admin and Baseline tiers around them (factored-cluster.ts).

import type { PortSpec } from '../core/traffic.ts';
import { portKey } from '../core/traffic.ts';
import { ipBlockContains } from '../policy/cidr.ts';
import type { CompiledSelector } from '../policy/labels.ts';
import type { CompiledPolicy, CompiledRule, PeerMatcher, PortMatcher } from '../policy/types.ts';
import { formatPolicyRef, formatRuleRef } from '../policy/types.ts';
import type { Projection } from './classes.ts';
import type { ExpectationEngine, RuleSet } from './engine.ts';
import { type FactoredCluster, writeFactoredCluster } from './factored-cluster.ts';

export const FACTORED_FORMAT = 'netaudit/factored-v1';

export interface FactoredClass {
  readonly id: string;
  readonly namespace: string;
  readonly members: readonly string[];
  readonly ingress: number | null;
  readonly egress: number | null;
  /** `name/PROTOCOL` -> port, for the named ports rules mention. */
  readonly namedPorts: Readonly<Record<string, number>>;
  readonly ports: readonly string[];
}

export interface FactoredExternal {
  readonly id: string;
  readonly ports: readonly string[];
}

export interface FactoredPeerSet {
  readonly classes: readonly number[];
  readonly externals: readonly number[];
}

export type FactoredPort =
  | { readonly protocol: string; readonly from: number; readonly to: number }
  | { readonly protocol: string; readonly name: string };

export interface FactoredRule {
  readonly ref: string;
  readonly peers: 'any' | readonly number[];
  readonly ports: 'any' | readonly FactoredPort[];
}

export interface FactoredRuleSet {
  readonly direction: 'ingress' | 'egress';
  readonly isolatedBy: readonly string[];
  readonly rules: readonly number[];
}

export interface FactoredAnalysis {
  readonly format: typeof FACTORED_FORMAT;
  readonly classes: readonly FactoredClass[];
  readonly externals: readonly FactoredExternal[];
  readonly peerSets: readonly FactoredPeerSet[];
  readonly rules: readonly FactoredRule[];
  readonly ruleSets: readonly FactoredRuleSet[];
}

/** With ClusterNetworkPolicies, the form carries their tiers too (factored-cluster.ts). */
export type FactoredAnalysisWithCluster = FactoredAnalysis & Partial<FactoredCluster>;

const formatPort = (p: PortSpec): string => portKey(p);

function portJson(m: PortMatcher): FactoredPort | undefined {
  switch (m.kind) {
    case 'all-ports':
      return { protocol: m.protocol, from: 1, to: 65535 };
    case 'port-range':
      return { protocol: m.protocol, from: m.from, to: m.to };
    case 'named-port':
      return { protocol: m.protocol, name: m.name };
    default:
      return undefined;
  }
}

/**
 * Writes the factored form as JSON members (`"classes": [...]` and so on, without the enclosing
 * braces), one line per element, so a caller can put them into its own object and stream them.
 */
export function writeFactored(engine: ExpectationEngine, write: (s: string) => void): void {
  const classes = engine.classes();
  const classIndex = new Map(classes.map((c, i) => [c.id as string, i]));
  const externals = engine.externals();
  const projection: Projection = engine.projection;

  const ruleSetIndex = new Map<RuleSet, number>();
  const ruleSets: RuleSet[] = [];
  const setOf = (set: RuleSet | undefined): number | null => {
    if (!set) return null;
    let i = ruleSetIndex.get(set);
    if (i === undefined) {
      i = ruleSets.length;
      ruleSets.push(set);
      ruleSetIndex.set(set, i);
    }
    return i;
  };

  write(`"format": ${JSON.stringify(FACTORED_FORMAT)},\n"classes": [`);
  classes.forEach((cls, i) => {
    const named: Record<string, number> = {};
    for (const n of projection.namedPorts) {
      const p = cls.representative.ports.find((q) => q.name === n.name && q.protocol === n.protocol);
      if (p) named[`${n.name}/${n.protocol}`] = p.port;
    }
    const json: FactoredClass = {
      id: cls.id,
      namespace: cls.namespace,
      members: cls.members.map((m) => m.key),
      ingress: setOf(cls.ingress),
      egress: setOf(cls.egress),
      namedPorts: named,
      ports: engine.portsOf({ kind: 'class', id: cls.id, cls, endpoint: cls.endpoint }).map(formatPort),
    };
    write(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(json)}`);
  });
  write('\n],\n"externals": [');
  externals.forEach((e, i) => {
    const json: FactoredExternal = {
      id: `ip:${e.text}`,
      ports: engine
        .portsOf({
          kind: 'external',
          id: `ip:${e.text}`,
          target: e,
          endpoint: { kind: 'external', ip: e.ip, text: e.text },
        })
        .map(formatPort),
    };
    write(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(json)}`);
  });

  // Rules of the rule sets in use, and the peer sets of their peers (one per distinct peer).
  const ruleIndex = new Map<CompiledRule, number>();
  const rules: FactoredRule[] = [];
  const peerKeyIndex = new Map<string, number>();
  write('\n],\n"peerSets": [');
  let peerSets = 0;
  const peerSetOf = (policy: CompiledPolicy, peer: PeerMatcher): number => {
    const key = peerKey(policy, peer);
    let i = peerKeyIndex.get(key);
    if (i !== undefined) return i;
    const members = engine
      .classesMatchingPeer(policy, peer)
      .map((c) => classIndex.get(c.id) as number)
      .sort((a, b) => a - b);
    const ext =
      peer.kind === 'ip-block'
        ? externals.flatMap((e, j) => (ipBlockContains(peer.block, e.ip) ? [j] : []))
        : [];
    const json: FactoredPeerSet = { classes: members, externals: ext };
    write(`${peerSets === 0 ? '\n' : ',\n'}${JSON.stringify(json)}`);
    i = peerSets++;
    peerKeyIndex.set(key, i);
    return i;
  };
  const setRules: number[][] = [];
  for (let s = 0; s < ruleSets.length; s++) {
    const set = ruleSets[s] as RuleSet;
    setRules.push(
      set.rules.map(({ policy, rule }) => {
        let i = ruleIndex.get(rule);
        if (i === undefined) {
          const peers =
            rule.peers.kind === 'any-peer'
              ? ('any' as const)
              : [...new Set(rule.peers.peers.map((p) => peerSetOf(policy, p)))];
          const ports =
            rule.ports.kind === 'any-port'
              ? ('any' as const)
              : rule.ports.ports.map(portJson).filter((p): p is FactoredPort => p !== undefined);
          i = rules.length;
          rules.push({ ref: formatRuleRef(rule.ref), peers, ports });
          ruleIndex.set(rule, i);
        }
        return i;
      }),
    );
  }
  write('\n],\n"rules": [');
  rules.forEach((r, i) => {
    write(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(r)}`);
  });
  write('\n],\n"ruleSets": [');
  ruleSets.forEach((set, i) => {
    const json: FactoredRuleSet = {
      direction: set.direction,
      isolatedBy: set.isolatedBy.map(formatPolicyRef),
      rules: setRules[i] as number[],
    };
    write(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(json)}`);
  });
  write('\n]');
  writeFactoredCluster(engine, write);
}

/** Peers with the same meaning share a peer set: the key is what they match, not where they appear. */
function peerKey(policy: CompiledPolicy, peer: PeerMatcher): string {
  switch (peer.kind) {
    case 'pods-in-policy-namespace':
      return `p|${policy.ref.namespace}|${selectorKey(peer.pods)}`;
    case 'pods-in-namespaces':
      return `n|${selectorKey(peer.namespaces)}|${selectorKey(peer.pods)}`;
    case 'ip-block':
      return `b|${peer.block.text}`;
    default:
      return `?|${JSON.stringify(peer)}`;
  }
}

function selectorKey(s: CompiledSelector): string {
  if (s.kind === 'everything') return '{}';
  return s.requirements
    .map((r) => `${r.key} ${r.operator} ${[...r.values].sort().join(',')}`)
    .sort()
    .join(';');
}
