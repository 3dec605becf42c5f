// The vocabulary of the engine (see docs/architecture.md):
//   subject  - the pod a policy selects (whose ingress or egress is being decided)
//   peer     - the other end of the traffic (a pod or an IP)
//   traffic  - from, to, port, protocol
//   verdict  - allowed or not, per direction, with the reasons
//   class    - pods that behave identically under every policy (expect/classes.ts)
import type { Labels } from '../core/k8s.ts';
import type { Protocol } from '../core/traffic.ts';
import type { CompiledSelector } from './labels.ts';

export type Direction = 'ingress' | 'egress';

/** `namespace/name`: a pod, or a workload template's pod (`ns/deployment-web`). */
export type PodKey = string & { readonly __brand: 'PodKey' };
export function podKey(namespace: string, name: string): PodKey {
  return `${namespace}/${name}` as PodKey;
}

/** A NetworkPolicy (`namespace/name`) or, with `kind`, a cluster-scoped ClusterNetworkPolicy (namespace ''). */
export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
  readonly kind?: 'ClusterNetworkPolicy';
}

export interface RuleRef {
  readonly policy: PolicyRef;
  readonly direction: Direction;
  readonly index: number;
}

export function formatPolicyRef(ref: PolicyRef): string {
  return ref.kind === 'ClusterNetworkPolicy'
    ? `clusternetworkpolicy/${ref.name}`
    : `${ref.namespace}/${ref.name}`;
}

export function clusterPolicyRef(name: string): PolicyRef {
  return { namespace: '', name, kind: 'ClusterNetworkPolicy' };
}

/** `ns/policy#ingress[i]` or `clusternetworkpolicy/NAME#egress[i]`: the contract form of a rule reference. */
export function formatRuleRef(ref: RuleRef): string {
  return `${formatPolicyRef(ref.policy)}#${ref.direction}[${ref.index}]`;
}

export interface ParsedIP {
  readonly family: 4 | 6;
  readonly value: bigint;
}

export interface ParsedCIDR {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

export interface CompiledIPBlock {
  readonly cidr: ParsedCIDR;
  readonly except: readonly ParsedCIDR[];
  /** As written, for explanations: `10.0.0.0/24 except 10.0.0.128/25`. */
  readonly text: string;
}

// Peers of a rule. Case table (API -> member):
//   from/to absent or []                      -> { kind: 'any-peer' } (PeerSet)
//   { podSelector } only                      -> pods-in-policy-namespace
//   { namespaceSelector } only                -> pods-in-namespaces (pods = everything)
//   { namespaceSelector, podSelector }        -> pods-in-namespaces (AND)
//   { ipBlock }                               -> ip-block
//   {} or ipBlock combined with a selector    -> invalid (rejected by compile, as by the API server)
export type PeerMatcher =
  | { readonly kind: 'pods-in-policy-namespace'; readonly index: number; readonly pods: CompiledSelector }
  | {
      readonly kind: 'pods-in-namespaces';
      readonly index: number;
      readonly namespaces: CompiledSelector;
      readonly pods: CompiledSelector;
    }
  | { readonly kind: 'ip-block'; readonly index: number; readonly block: CompiledIPBlock };

export type PeerSet =
  | { readonly kind: 'any-peer' }
  | { readonly kind: 'peers'; readonly peers: readonly PeerMatcher[] };

// Ports of a rule. Case table:
//   ports absent or []            -> { kind: 'any-port' } (PortSet)
//   { protocol } (no port)        -> all-ports (of that protocol; protocol defaults to TCP)
//   { port: N [, endPort: M] }    -> port-range N..M (M = N without endPort)
//   { port: "name" }              -> named-port, resolved on the destination pod by name AND protocol
export type PortMatcher =
  | { readonly kind: 'all-ports'; readonly index: number; readonly protocol: Protocol }
  | {
      readonly kind: 'port-range';
      readonly index: number;
      readonly protocol: Protocol;
      readonly from: number;
      readonly to: number;
    }
  | {
      readonly kind: 'named-port';
      readonly index: number;
      readonly protocol: Protocol;
      readonly name: string;
    };

export type PortSet =
  | { readonly kind: 'any-port' }
  | { readonly kind: 'ports'; readonly ports: readonly PortMatcher[] };

export interface CompiledRule {
  readonly ref: RuleRef;
  readonly peers: PeerSet;
  readonly ports: PortSet;
}

export interface CompiledPolicy {
  readonly ref: PolicyRef;
  readonly podSelector: CompiledSelector;
  /** From policyTypes (defaulted): a policy isolates its subjects for each type it lists. */
  readonly isolates: { readonly ingress: boolean; readonly egress: boolean };
  /** Only the rules of the directions the policy isolates; rules of other directions have no effect. */
  readonly ingress: readonly CompiledRule[];
  readonly egress: readonly CompiledRule[];
}

// ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2, network-policy-api v0.2.0).
export type ClusterTier = 'Admin' | 'Baseline';
export type ClusterAction = 'Accept' | 'Deny' | 'Pass';

/**
 * Subject. Case table (API -> value):
 *   subject.namespaces: S                      -> namespaces S, pods everything
 *   subject.pods: { namespaceSelector: N, podSelector: P } -> namespaces N AND pods P ({} or absent = all)
 */
export interface ClusterSubject {
  readonly namespaces: CompiledSelector;
  readonly pods: CompiledSelector;
}

// Peers of a ClusterNetworkPolicy rule (exactly one field per peer). Case table:
//   namespaces: S                -> pods-in-namespaces (pods = everything)
//   pods: { N, P }               -> pods-in-namespaces (N AND P)
//   networks: [CIDR...] (egress) -> networks: any IP, pods' included (as the profile lets CIDRs match pods)
//   nodes: S (egress)            -> nodes: node IPs; never a pod's (host-network pods are not endpoints),
//                                   unknown offline for an external address
//   domainNames (egress, Accept) -> domain-names: decided by DNS answers at run time; never a pod
//                                   reached by its IP, unknown offline for an external address
//   none of them (a newer CRD's field) -> fail closed: compile drops the peer from Accept rules and
//                                   turns Deny/Pass rules into Deny-all (the API's instruction)
export type ClusterPeerMatcher =
  | {
      readonly kind: 'pods-in-namespaces';
      readonly index: number;
      readonly namespaces: CompiledSelector;
      readonly pods: CompiledSelector;
    }
  | { readonly kind: 'networks'; readonly index: number; readonly blocks: readonly CompiledIPBlock[] }
  | { readonly kind: 'nodes'; readonly index: number; readonly nodes: CompiledSelector }
  | { readonly kind: 'domain-names'; readonly index: number; readonly names: readonly string[] }
  | { readonly kind: 'everything'; readonly index: number };

// Ports of a ClusterNetworkPolicy rule. Case table:
//   protocols absent                               -> any-port
//   { tcp|udp|sctp: { destinationPort: { number } } }  -> port-range N..N of that protocol
//   { tcp|udp|sctp: { destinationPort: { range } } }   -> port-range start..end
//   { destinationNamedPort: name }                 -> any-protocol-named-port: the destination pod's
//                                                     container port of that name, with its own protocol
export type ClusterPortMatcher =
  | Extract<PortMatcher, { readonly kind: 'port-range' }>
  | { readonly kind: 'any-protocol-named-port'; readonly index: number; readonly name: string };

export type ClusterPortSet =
  | { readonly kind: 'any-port' }
  | { readonly kind: 'ports'; readonly ports: readonly ClusterPortMatcher[] };

export interface CompiledClusterRule {
  readonly ref: RuleRef;
  readonly action: ClusterAction;
  /** The rule's `name`, for explanations. */
  readonly name: string | undefined;
  readonly peers: readonly ClusterPeerMatcher[];
  readonly ports: ClusterPortSet;
}

export interface CompiledClusterPolicy {
  readonly ref: PolicyRef;
  readonly tier: ClusterTier;
  readonly priority: number;
  readonly subject: ClusterSubject;
  /** In the order written: within a policy the first matching rule decides. */
  readonly ingress: readonly CompiledClusterRule[];
  readonly egress: readonly CompiledClusterRule[];
}

/** Tier order, then priority (lower first), then name: the order rules are tried in. */
export function compareClusterPolicies(a: CompiledClusterPolicy, b: CompiledClusterPolicy): number {
  if (a.tier !== b.tier) return a.tier === 'Admin' ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0;
}

export interface NamedContainerPort {
  readonly name: string | undefined;
  readonly port: number;
  readonly protocol: Protocol;
}

/** A pod as the engine sees it. */
export interface PodInfo {
  readonly key: PodKey;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly ips: readonly ParsedIP[];
  readonly ports: readonly NamedContainerPort[];
  readonly hostNetwork: boolean;
  readonly node: string | undefined;
  readonly phase: string | undefined;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
  readonly implied: boolean;
}

export type Endpoint =
  | { readonly kind: 'pod'; readonly pod: PodInfo }
  | { readonly kind: 'external'; readonly ip: ParsedIP; readonly text: string };

export interface Traffic {
  readonly from: PodInfo;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface DirectionVerdict {
  /** Some policy selects the subject for this direction. */
  readonly isolated: boolean;
  readonly allowed: boolean;
  /** Rules that allow the traffic (all of them, not only the first). */
  readonly allowedBy: readonly RuleRef[];
  /** Policies that isolate the subject in this direction (why a denial happened). */
  readonly isolatedBy: readonly PolicyRef[];
  /** Why no policy applies, or what the CNI profile decided where the spec is silent. */
  readonly note?: string;
  /** The ClusterNetworkPolicy tier that decided (absent: NetworkPolicy, or no policy at all). */
  readonly tier?: ClusterTier;
  /** ClusterNetworkPolicy Deny rules that denied the traffic. */
  readonly deniedBy?: readonly RuleRef[];
  /** ClusterNetworkPolicy Pass rules that handed the decision to the next tier, in tier order. */
  readonly passedBy?: readonly RuleRef[];
  /** The verdict cannot be decided offline: `allowed` is false and says nothing. */
  readonly undetermined?: Undetermined;
}

// Why a verdict cannot be decided without the running cluster. Case table:
//   node-peer       - a nodes peer and an external address: only the cluster knows node IPs
//   domain-peer     - a domainNames peer and an external address: decided by DNS answers at run time
//   pod-without-ip  - a networks peer and a pod with no IP yet (manifests): its address decides
//   equal-priority  - policies of one tier and priority whose first matching rules disagree: the API
//                     lets the implementation apply any of them
export interface Undetermined {
  readonly why: 'node-peer' | 'domain-peer' | 'pod-without-ip' | 'equal-priority';
  readonly rules: readonly RuleRef[];
}

export interface Verdict {
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
}
