// ClusterNetworkPolicy tiers in the factored form (`analyze --classes -o json`), written after the
// NetworkPolicy members and only when there are ClusterNetworkPolicies:
//   clusterPeerSets   one per distinct peer: the classes and external targets it matches, and those
//                     for which it cannot be known offline (a nodes or domainNames peer to an external
//                     address, a networks peer to a class whose pods have no IP);
//   clusterRules      reference, action, peers (clusterPeerSets indexes), ports ("any", ranges, names;
//                     protocol "any" for a destinationNamedPort, which resolves with the port's own);
//   clusterPolicies   reference, tier, priority, rules per direction in written order;
//   clusterSelections per tier, the policies whose subject selects a class, by priority then name;
//   classClusters     per class (same positions as `classes`), its selection or null.
// decode.ts decides the tiers from these alone, as src/policy/cluster-tier.ts does.
import { assertNever } from '../core/assert-never.ts';
import type {} from '../core/traffic.ts';
import { cidrContainsIP } from '../policy/cidr.ts';
import { selectorMatches } from '../policy/labels.ts';
import type {
  ClusterPeerMatcher,
  ClusterPortMatcher,
  CompiledClusterPolicy,
  CompiledClusterRule,
} from '../policy/types.ts';
import { formatPolicyRef, formatRuleRef } from '../policy/types.ts';
import type { ClusterSelection, ExpectationEngine } from './engine.ts';
import type { FactoredPort } from './factored.ts';

export interface FactoredClusterPeerSet {
  readonly classes: readonly number[];
  readonly externals: readonly number[];
  readonly unknownClasses: readonly number[];
  readonly unknownExternals: readonly number[];
  /** Why the unknown ones are unknown (the verdict's `undetermined.why`). */
  readonly unknownWhy?: 'node-peer' | 'domain-peer' | 'pod-without-ip';
}

export type FactoredClusterPort = FactoredPort | { readonly protocol: 'any'; readonly name: string };

export interface FactoredClusterRule {
  readonly ref: string;
  readonly action: 'Accept' | 'Deny' | 'Pass';
  readonly peers: readonly number[];
  readonly ports: 'any' | readonly FactoredClusterPort[];
}

export interface FactoredClusterPolicy {
  readonly ref: string;
  readonly tier: 'Admin' | 'Baseline';
  readonly priority: number;
  readonly ingress: readonly number[];
  readonly egress: readonly number[];
}

export interface FactoredClusterSelection {
  readonly admin: readonly number[];
  readonly baseline: readonly number[];
}

export interface FactoredCluster {
  readonly clusterPeerSets: readonly FactoredClusterPeerSet[];
  readonly clusterRules: readonly FactoredClusterRule[];
  readonly clusterPolicies: readonly FactoredClusterPolicy[];
  readonly clusterSelections: readonly FactoredClusterSelection[];
  readonly classClusters: readonly (number | null)[];
}

function portJson(m: ClusterPortMatcher): FactoredClusterPort {
  switch (m.kind) {
    case 'port-range':
      return { protocol: m.protocol, from: m.from, to: m.to };
    case 'any-protocol-named-port':
      return { protocol: 'any', name: m.name };
    default:
      return assertNever(m);
  }
}

/** Writes the members above (each preceded by a comma), or nothing when there are no ClusterNetworkPolicies. */
export function writeFactoredCluster(engine: ExpectationEngine, write: (s: string) => void): void {
  const all = [...engine.clusterPoliciesOf('Admin'), ...engine.clusterPoliciesOf('Baseline')];
  if (all.length === 0) return;
  const classes = engine.classes();
  const externals = engine.externals();
  const allowPodIPs = engine.profile.ipBlockMatchesPodIPs.value;

  const peerSets: FactoredClusterPeerSet[] = [];
  const peerIndex = new Map<string, number>();
  const peerSetOf = (peer: ClusterPeerMatcher): number => {
    const key = JSON.stringify({ ...peer, index: 0 }, (_k, v: unknown) =>
      v instanceof Set ? [...v].sort() : typeof v === 'bigint' ? v.toString() : v,
    );
    const known = peerIndex.get(key);
    if (known !== undefined) return known;
    const set: FactoredClusterPeerSet = matchPeer(peer);
    peerSets.push(set);
    peerIndex.set(key, peerSets.length - 1);
    return peerSets.length - 1;
  };
  const indexes = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const matchPeer = (peer: ClusterPeerMatcher): FactoredClusterPeerSet => {
    const none = { classes: [], externals: [], unknownClasses: [], unknownExternals: [] };
    switch (peer.kind) {
      case 'pods-in-namespaces':
        return {
          ...none,
          classes: classes.flatMap((c, i) =>
            engine.namespaceMatchesSelector(peer.namespaces, c.namespace) &&
            selectorMatches(peer.pods, c.representative.labels)
              ? [i]
              : [],
          ),
        };
      case 'networks': {
        const inBlocks = (ip: Parameters<typeof cidrContainsIP>[1]) =>
          peer.blocks.some((b) => cidrContainsIP(b.cidr, ip));
        const withIp = (i: number) => (classes[i]?.representative.ips.length ?? 0) > 0;
        return {
          classes: allowPodIPs
            ? classes.flatMap((c, i) => (c.representative.ips.some(inBlocks) ? [i] : []))
            : [],
          externals: externals.flatMap((e, i) => (inBlocks(e.ip) ? [i] : [])),
          unknownClasses: allowPodIPs ? indexes(classes.length).filter((i) => !withIp(i)) : [],
          unknownExternals: [],
          unknownWhy: 'pod-without-ip',
        };
      }
      case 'nodes':
        return { ...none, unknownExternals: indexes(externals.length), unknownWhy: 'node-peer' };
      case 'domain-names':
        return { ...none, unknownExternals: indexes(externals.length), unknownWhy: 'domain-peer' };
      case 'everything':
        return { ...none, classes: indexes(classes.length), externals: indexes(externals.length) };
      default:
        return assertNever(peer);
    }
  };

  const rules: FactoredClusterRule[] = [];
  const ruleIndex = new Map<CompiledClusterRule, number>();
  const ruleOf = (rule: CompiledClusterRule): number => {
    let i = ruleIndex.get(rule);
    if (i === undefined) {
      i = rules.length;
      rules.push({
        ref: formatRuleRef(rule.ref),
        action: rule.action,
        peers: [...new Set(rule.peers.map(peerSetOf))],
        ports: rule.ports.kind === 'any-port' ? 'any' : rule.ports.ports.map(portJson),
      });
      ruleIndex.set(rule, i);
    }
    return i;
  };
  const policyIndex = new Map<CompiledClusterPolicy, number>();
  const policies: FactoredClusterPolicy[] = all.map((p, i) => {
    policyIndex.set(p, i);
    return {
      ref: formatPolicyRef(p.ref),
      tier: p.tier,
      priority: p.priority,
      ingress: p.ingress.map(ruleOf),
      egress: p.egress.map(ruleOf),
    };
  });
  const selections: FactoredClusterSelection[] = [];
  const selectionIndex = new Map<ClusterSelection, number>();
  const classClusters = classes.map((c) => {
    if (!c.cluster) return null;
    let i = selectionIndex.get(c.cluster);
    if (i === undefined) {
      i = selections.length;
      selections.push({
        admin: c.cluster.admin.map((p) => policyIndex.get(p) as number),
        baseline: c.cluster.baseline.map((p) => policyIndex.get(p) as number),
      });
      selectionIndex.set(c.cluster, i);
    }
    return i;
  });
  const list = (name: string, items: readonly unknown[]): void => {
    write(`,\n"${name}": [`);
    items.forEach((x, i) => {
      write(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(x)}`);
    });
    write('\n]');
  };
  list('clusterPeerSets', peerSets);
  list('clusterRules', rules);
  list('clusterPolicies', policies);
  list('clusterSelections', selections);
  write(`,\n"classClusters": ${JSON.stringify(classClusters)}`);
}
