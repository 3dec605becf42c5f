// Compile once, match many times: a NetworkPolicy becomes matchers, or the issues that make it invalid.
// Nothing here throws on user input.
import type {
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from '../core/k8s.ts';
import { PROTOCOLS, type Protocol } from '../core/traffic.ts';
import { parseCidrStrict } from './cidr.ts';
import { compileSelector, EVERYTHING, type SelectorIssue } from './labels.ts';
import type {
  CompiledIPBlock,
  CompiledPolicy,
  CompiledRule,
  Direction,
  ParsedCIDR,
  PeerMatcher,
  PeerSet,
  PolicyRef,
  PortMatcher,
  PortSet,
} from './types.ts';

export interface PolicyIssue {
  readonly field: string;
  readonly message: string;
}

export type CompileResult =
  | { readonly ok: true; readonly policy: CompiledPolicy; readonly warnings: readonly PolicyIssue[] }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

const IANA_SVC_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/**
 * policyTypes as the API server defaults it: Ingress always, Egress iff there are egress rules.
 * Objects read from the API server already carry it; manifests often do not.
 */
export function defaultPolicyTypes(np: NetworkPolicy): Direction[] {
  const types = np.spec.policyTypes;
  if (types && types.length > 0) {
    return types.map((t) => t.toLowerCase()).filter((t): t is Direction => t === 'ingress' || t === 'egress');
  }
  return (np.spec.egress?.length ?? 0) > 0 ? ['ingress', 'egress'] : ['ingress'];
}

export function compilePolicy(np: NetworkPolicy): CompileResult {
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const ref: PolicyRef = { namespace: np.metadata.namespace ?? 'default', name: np.metadata.name ?? '' };
  if (!np.metadata.name) issues.push({ field: 'metadata.name', message: 'a NetworkPolicy needs a name' });
  if (!np.spec || typeof np.spec !== 'object') {
    return { ok: false, issues: [{ field: 'spec', message: 'a NetworkPolicy needs a spec' }] };
  }
  if (!np.spec.podSelector) {
    issues.push({
      field: 'spec.podSelector',
      message: 'required; use {} to select every pod in the namespace',
    });
  }
  const podSelector = np.spec.podSelector
    ? collect(compileSelector(np.spec.podSelector, 'spec.podSelector'), issues)
    : EVERYTHING;

  for (const [i, t] of (np.spec.policyTypes ?? []).entries()) {
    if (t !== 'Ingress' && t !== 'Egress') {
      issues.push({
        field: `spec.policyTypes[${i}]`,
        message: `"${t}" is not a policy type; use Ingress or Egress`,
      });
    }
  }
  const types = defaultPolicyTypes(np);
  const isolates = { ingress: types.includes('ingress'), egress: types.includes('egress') };
  if (!isolates.egress && (np.spec.egress?.length ?? 0) > 0) {
    warnings.push({
      field: 'spec.egress',
      message: 'egress rules have no effect: policyTypes does not list Egress',
    });
  }
  if (!isolates.ingress && (np.spec.ingress?.length ?? 0) > 0) {
    warnings.push({
      field: 'spec.ingress',
      message: 'ingress rules have no effect: policyTypes does not list Ingress',
    });
  }

  const ingress = (np.spec.ingress ?? []).map((rule: NetworkPolicyIngressRule, i) =>
    compileRule(ref, 'ingress', i, rule.from, rule.ports, `spec.ingress[${i}]`, 'from', issues),
  );
  const egress = (np.spec.egress ?? []).map((rule: NetworkPolicyEgressRule, i) =>
    compileRule(ref, 'egress', i, rule.to, rule.ports, `spec.egress[${i}]`, 'to', issues),
  );
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    policy: {
      ref,
      podSelector,
      isolates,
      ingress: isolates.ingress ? ingress : [],
      egress: isolates.egress ? egress : [],
    },
    warnings,
  };
}

function collect<T>(result: { selector: T; issues: SelectorIssue[] }, issues: PolicyIssue[]): T {
  issues.push(...result.issues);
  return result.selector;
}

function compileRule(
  policy: PolicyRef,
  direction: Direction,
  index: number,
  peers: readonly NetworkPolicyPeer[] | undefined,
  ports: readonly NetworkPolicyPort[] | undefined,
  field: string,
  peersField: 'from' | 'to',
  issues: PolicyIssue[],
): CompiledRule {
  const peerSet: PeerSet =
    !peers || peers.length === 0
      ? { kind: 'any-peer' }
      : {
          kind: 'peers',
          peers: peers.map((p, i) => compilePeer(p, i, `${field}.${peersField}[${i}]`, issues)),
        };
  const portSet: PortSet =
    !ports || ports.length === 0
      ? { kind: 'any-port' }
      : { kind: 'ports', ports: ports.map((p, i) => compilePort(p, i, `${field}.ports[${i}]`, issues)) };
  return { ref: { policy, direction, index }, peers: peerSet, ports: portSet };
}

function compilePeer(
  peer: NetworkPolicyPeer,
  index: number,
  field: string,
  issues: PolicyIssue[],
): PeerMatcher {
  if (peer.ipBlock) {
    if (peer.podSelector || peer.namespaceSelector) {
      issues.push({
        field,
        message: 'ipBlock cannot be combined with podSelector or namespaceSelector in one peer',
      });
    }
    return { kind: 'ip-block', index, block: compileIPBlock(peer.ipBlock, `${field}.ipBlock`, issues) };
  }
  if (peer.namespaceSelector) {
    const namespaces = collect(compileSelector(peer.namespaceSelector, `${field}.namespaceSelector`), issues);
    const pods = peer.podSelector
      ? collect(compileSelector(peer.podSelector, `${field}.podSelector`), issues)
      : EVERYTHING;
    return { kind: 'pods-in-namespaces', index, namespaces, pods };
  }
  if (peer.podSelector) {
    const pods = collect(compileSelector(peer.podSelector, `${field}.podSelector`), issues);
    return { kind: 'pods-in-policy-namespace', index, pods };
  }
  issues.push({ field, message: 'a peer must set podSelector, namespaceSelector or ipBlock' });
  return { kind: 'pods-in-policy-namespace', index, pods: EVERYTHING };
}

function compileIPBlock(
  block: { cidr: string; except?: readonly string[] | undefined },
  field: string,
  issues: PolicyIssue[],
): CompiledIPBlock {
  const placeholder: ParsedCIDR = { family: 4, base: 0n, prefix: 32 };
  const cidr = parseCidrStrict(block.cidr);
  if (!cidr.ok) issues.push({ field: `${field}.cidr`, message: cidr.error });
  const base = cidr.ok ? cidr.value : placeholder;
  const except: ParsedCIDR[] = [];
  (block.except ?? []).forEach((text, i) => {
    const ex = parseCidrStrict(text);
    if (!ex.ok) {
      issues.push({ field: `${field}.except[${i}]`, message: ex.error });
      return;
    }
    if (cidr.ok && !isStrictSubset(ex.value, base)) {
      issues.push({
        field: `${field}.except[${i}]`,
        message: `${text} must be a strict subset of cidr ${block.cidr}`,
      });
      return;
    }
    except.push(ex.value);
  });
  const text = block.except?.length ? `${block.cidr} except ${block.except.join(', ')}` : block.cidr;
  return { cidr: base, except, text };
}

function isStrictSubset(inner: ParsedCIDR, outer: ParsedCIDR): boolean {
  if (inner.family !== outer.family || inner.prefix <= outer.prefix) return false;
  const bits = inner.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.prefix);
  return inner.base >> shift === outer.base >> shift;
}

function compilePort(
  port: NetworkPolicyPort,
  index: number,
  field: string,
  issues: PolicyIssue[],
): PortMatcher {
  const protocol = (port.protocol ?? 'TCP') as Protocol;
  if (!PROTOCOLS.includes(protocol)) {
    issues.push({
      field: `${field}.protocol`,
      message: `"${port.protocol}" is not a protocol; use TCP, UDP or SCTP`,
    });
  }
  if (port.port === undefined || port.port === null) {
    if (port.endPort !== undefined) {
      issues.push({ field: `${field}.endPort`, message: 'endPort needs a numeric port' });
    }
    return { kind: 'all-ports', index, protocol };
  }
  if (typeof port.port === 'string') {
    if (port.endPort !== undefined) {
      issues.push({ field: `${field}.endPort`, message: 'endPort cannot be used with a named port' });
    }
    if (/^\d+$/.test(port.port)) {
      issues.push({
        field: `${field}.port`,
        message: `"${port.port}" is a number in quotes; write it unquoted`,
      });
    } else if (!IANA_SVC_NAME.test(port.port)) {
      issues.push({
        field: `${field}.port`,
        message: `"${port.port}" is not a valid port name (1-15 lower-case letters, digits and '-', with a letter)`,
      });
    }
    return { kind: 'named-port', index, protocol, name: port.port };
  }
  const from = port.port;
  if (!Number.isInteger(from) || from < 1 || from > 65535) {
    issues.push({ field: `${field}.port`, message: `port ${from} is out of range 1-65535` });
  }
  let to = from;
  if (port.endPort !== undefined) {
    to = port.endPort;
    if (!Number.isInteger(to) || to > 65535) {
      issues.push({ field: `${field}.endPort`, message: `endPort ${to} is out of range 1-65535` });
    } else if (to < from) {
      issues.push({ field: `${field}.endPort`, message: `endPort ${to} must not be below port ${from}` });
    }
  }
  return { kind: 'port-range', index, protocol, from, to };
}
