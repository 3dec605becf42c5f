// The vocabulary of the engine (see docs/architecture.md):
//   subject  - the pod a policy selects (whose ingress or egress is being decided)
//   peer     - the other end of the traffic (a pod or an IP)
//   traffic  - from, to, port, protocol
//   verdict  - allowed or not, per direction, with the reasons
//   class    - pods that behave identically under every policy (model/classes.ts)
import type { Labels } from '../model/k8s.ts';
import type { CompiledSelector } from './labels.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export type Direction = 'ingress' | 'egress';

/** A port and its protocol: what is probed and what a verdict is about. */
export interface PortSpec {
  readonly port: number;
  readonly protocol: Protocol;
}

/** `namespace/name`: a pod, or a workload template's pod (`ns/deployment-web`). */
export type PodKey = string & { readonly __brand: 'PodKey' };
export function podKey(namespace: string, name: string): PodKey {
  return `${namespace}/${name}` as PodKey;
}

export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
}

export interface RuleRef {
  readonly policy: PolicyRef;
  readonly direction: Direction;
  readonly index: number;
}

export function formatPolicyRef(ref: PolicyRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** `ns/policy#ingress[i]`: the contract form of a rule reference. */
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
}

export interface Verdict {
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
}
