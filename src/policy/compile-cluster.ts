// Compile once, match many times: a ClusterNetworkPolicy becomes matchers, or the issues that make it
// invalid (the checks the CRD's schema makes on the API server; manifests are checked in more detail by
// src/model/validate-cluster.ts). Nothing here throws on user input.
import type {
  ClusterNetworkPolicy,
  ClusterNetworkPolicyPeer,
  ClusterNetworkPolicyProtocol,
  ClusterNetworkPolicyRule,
  LabelSelector,
} from '../core/k8s.ts';
import type { Protocol } from '../core/traffic.ts';
import { parseCidrStrict } from './cidr.ts';
import type { PolicyIssue } from './compile.ts';
import { type CompiledSelector, compileSelector, EVERYTHING } from './labels.ts';
import {
  type ClusterAction,
  type ClusterPeerMatcher,
  type ClusterPortMatcher,
  type ClusterPortSet,
  type ClusterSubject,
  type ClusterTier,
  type CompiledClusterPolicy,
  type CompiledClusterRule,
  clusterPolicyRef,
  type Direction,
  type PolicyRef,
} from './types.ts';

export type ClusterCompileResult =
  | {
      readonly ok: true;
      readonly policy: CompiledClusterPolicy;
      readonly warnings: readonly PolicyIssue[];
    }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

const TIERS: readonly string[] = ['Admin', 'Baseline'];
const ACTIONS: readonly string[] = ['Accept', 'Deny', 'Pass'];

export function compileClusterPolicy(cnp: ClusterNetworkPolicy): ClusterCompileResult {
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const name = cnp.metadata.name ?? '';
  const ref = clusterPolicyRef(name);
  if (!name) issues.push({ field: 'metadata.name', message: 'a ClusterNetworkPolicy needs a name' });
  const spec = cnp.spec;
  if (!spec || typeof spec !== 'object') {
    return { ok: false, issues: [{ field: 'spec', message: 'a ClusterNetworkPolicy needs a spec' }] };
  }
  if (!TIERS.includes(spec.tier)) {
    issues.push({ field: 'spec.tier', message: `"${spec.tier}" is not a tier; use Admin or Baseline` });
  }
  const priority = spec.priority;
  if (!Number.isInteger(priority) || priority < 0 || priority > 1000) {
    issues.push({ field: 'spec.priority', message: `priority ${priority} is out of range 0-1000` });
  }
  const subject = compileSubject(spec.subject, issues);
  const ingress = (spec.ingress ?? []).map((r, i) =>
    compileRule(ref, 'ingress', i, r, `spec.ingress[${i}]`, issues, warnings),
  );
  const egress = (spec.egress ?? []).map((r, i) =>
    compileRule(ref, 'egress', i, r, `spec.egress[${i}]`, issues, warnings),
  );
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    policy: { ref, tier: spec.tier as ClusterTier, priority, subject, ingress, egress },
    warnings,
  };
}

function selector(sel: LabelSelector | undefined, field: string, issues: PolicyIssue[]): CompiledSelector {
  if (!sel) return EVERYTHING;
  const c = compileSelector(sel, field);
  issues.push(...c.issues);
  return c.selector;
}

function compileSubject(
  subject: ClusterNetworkPolicy['spec']['subject'] | undefined,
  issues: PolicyIssue[],
): ClusterSubject {
  const set = subject ? (subject.namespaces ? 1 : 0) + (subject.pods ? 1 : 0) : 0;
  if (!subject || set !== 1) {
    issues.push({ field: 'spec.subject', message: 'set exactly one of subject.namespaces or subject.pods' });
    return { namespaces: EVERYTHING, pods: EVERYTHING };
  }
  if (subject.namespaces)
    return { namespaces: selector(subject.namespaces, 'spec.subject.namespaces', issues), pods: EVERYTHING };
  return {
    namespaces: selector(subject.pods?.namespaceSelector, 'spec.subject.pods.namespaceSelector', issues),
    pods: selector(subject.pods?.podSelector, 'spec.subject.pods.podSelector', issues),
  };
}

function compileRule(
  policy: PolicyRef,
  direction: Direction,
  index: number,
  rule: ClusterNetworkPolicyRule,
  field: string,
  issues: PolicyIssue[],
  warnings: PolicyIssue[],
): CompiledClusterRule {
  let action = rule.action as ClusterAction;
  if (!ACTIONS.includes(rule.action)) {
    issues.push({
      field: `${field}.action`,
      message: `"${rule.action}" is not an action; use Accept, Deny or Pass`,
    });
  }
  const peersField = direction === 'ingress' ? 'from' : 'to';
  const written = (direction === 'ingress' ? rule.from : rule.to) ?? [];
  if (written.length === 0) {
    issues.push({ field: `${field}.${peersField}`, message: `${peersField} needs at least one peer` });
  }
  const peers: ClusterPeerMatcher[] = [];
  written.forEach((p, i) => {
    const at = `${field}.${peersField}[${i}]`;
    const m = compilePeer(p, i, at, direction, action, issues);
    if (m !== undefined) peers.push(m);
    else if (action === 'Accept') {
      warnings.push({
        field: at,
        message: 'a peer with no field this version knows matches nothing (fail closed)',
      });
    } else {
      // The API: a peer an implementation cannot read fails closed; for Deny and Pass that is Deny-all.
      warnings.push({
        field: at,
        message: `a peer with no field this version knows makes this ${action} rule deny everything (fail closed)`,
      });
      action = 'Deny';
      peers.push({ kind: 'everything', index: i });
    }
  });
  const ports = compileProtocols(rule.protocols, `${field}.protocols`, issues);
  return { ref: { policy, direction, index }, action, name: rule.name, peers, ports };
}

function compilePeer(
  peer: ClusterNetworkPolicyPeer,
  index: number,
  field: string,
  direction: Direction,
  action: ClusterAction,
  issues: PolicyIssue[],
): ClusterPeerMatcher | undefined {
  const fields = (['namespaces', 'pods', 'networks', 'nodes', 'domainNames'] as const).filter(
    (k) => peer[k] !== undefined,
  );
  if (fields.length === 0) return undefined;
  if (fields.length > 1) {
    issues.push({ field, message: `a peer sets exactly one field; this one sets ${fields.join(', ')}` });
  }
  const only = fields[0];
  if (direction === 'ingress' && only !== 'namespaces' && only !== 'pods') {
    issues.push({
      field: `${field}.${only}`,
      message: `${only} is an egress peer; ingress peers are namespaces or pods`,
    });
  }
  switch (only) {
    case 'namespaces':
      return {
        kind: 'pods-in-namespaces',
        index,
        namespaces: selector(peer.namespaces, `${field}.namespaces`, issues),
        pods: EVERYTHING,
      };
    case 'pods':
      return {
        kind: 'pods-in-namespaces',
        index,
        namespaces: selector(peer.pods?.namespaceSelector, `${field}.pods.namespaceSelector`, issues),
        pods: selector(peer.pods?.podSelector, `${field}.pods.podSelector`, issues),
      };
    case 'networks': {
      const list = peer.networks ?? [];
      if (list.length === 0)
        issues.push({ field: `${field}.networks`, message: 'networks needs at least one CIDR' });
      const blocks = list.flatMap((text, i) => {
        const c = parseCidrStrict(text);
        if (!c.ok) {
          issues.push({ field: `${field}.networks[${i}]`, message: c.error });
          return [];
        }
        return [{ cidr: c.value, except: [], text }];
      });
      return { kind: 'networks', index, blocks };
    }
    case 'nodes':
      return { kind: 'nodes', index, nodes: selector(peer.nodes, `${field}.nodes`, issues) };
    case 'domainNames':
      if (action !== 'Accept') {
        issues.push({
          field: `${field}.domainNames`,
          message: 'domainNames peers are allowed only in Accept rules',
        });
      }
      if ((peer.domainNames ?? []).length === 0)
        issues.push({ field: `${field}.domainNames`, message: 'domainNames needs at least one name' });
      return { kind: 'domain-names', index, names: peer.domainNames ?? [] };
    default:
      return undefined;
  }
}

function compileProtocols(
  protocols: readonly ClusterNetworkPolicyProtocol[] | undefined,
  field: string,
  issues: PolicyIssue[],
): ClusterPortSet {
  if (protocols === undefined) return { kind: 'any-port' };
  if (protocols.length === 0) {
    issues.push({ field, message: 'protocols needs at least one entry, or leave it out for every port' });
    return { kind: 'any-port' };
  }
  const ports: ClusterPortMatcher[] = [];
  protocols.forEach((p, i) => {
    const at = `${field}[${i}]`;
    const set = (['tcp', 'udp', 'sctp', 'destinationNamedPort'] as const).filter((k) => p[k] !== undefined);
    if (set.length !== 1) {
      issues.push({ field: at, message: 'set exactly one of tcp, udp, sctp or destinationNamedPort' });
      return;
    }
    if (p.destinationNamedPort !== undefined) {
      if (p.destinationNamedPort === '')
        issues.push({ field: `${at}.destinationNamedPort`, message: 'a named port needs a name' });
      ports.push({ kind: 'any-protocol-named-port', index: i, name: p.destinationNamedPort });
      return;
    }
    const key = set[0] as 'tcp' | 'udp' | 'sctp';
    const protocol = key.toUpperCase() as Protocol;
    const dp = p[key]?.destinationPort;
    if (!dp || (dp.number === undefined) === (dp.range === undefined)) {
      issues.push({
        field: `${at}.${key}.destinationPort`,
        message: 'set exactly one of destinationPort.number or destinationPort.range',
      });
      return;
    }
    const from = dp.range ? dp.range.start : (dp.number as number);
    const to = dp.range ? dp.range.end : from;
    const where = dp.range ? `${at}.${key}.destinationPort.range` : `${at}.${key}.destinationPort.number`;
    for (const n of dp.range ? [dp.range.start, dp.range.end] : [from]) {
      if (!Number.isInteger(n) || n < 1 || n > 65535)
        issues.push({ field: where, message: `port ${n} is out of range 1-65535` });
    }
    if (dp.range && !(dp.range.start < dp.range.end)) {
      issues.push({ field: where, message: `start ${dp.range.start} must be less than end ${dp.range.end}` });
    }
    ports.push({ kind: 'port-range', index: i, protocol, from, to });
  });
  return { kind: 'ports', ports };
}
