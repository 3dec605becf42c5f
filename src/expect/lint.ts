// Policy lint: what a reviewer wants flagged in a pull request, each finding with a stable rule id,
// a severity, one line of message, and the object and field it is about (the CLI adds file and line).
// Rules that need pods or namespaces to judge say nothing when the input has none (a chart's
// templates may carry only policies): a peer cannot be called unmatched against an empty cluster.
import type { Protocol } from '../core/traffic.ts';
import { cidrContainsIP } from '../policy/cidr.ts';
import { formatSelector } from '../policy/labels.ts';
import type {
  CompiledIPBlock,
  CompiledPolicy,
  CompiledRule,
  Direction,
  ParsedCIDR,
  PeerMatcher,
  PortMatcher,
} from '../policy/types.ts';
import { formatPolicyRef } from '../policy/types.ts';
import type { ExpectationEngine, ExpectClass } from './engine.ts';

export type LintSeverity = 'error' | 'warning' | 'note';

export interface LintRule {
  readonly id: string;
  readonly name: string;
  readonly severity: LintSeverity;
  /** What the rule finds and why it matters: SARIF's rule help. */
  readonly description: string;
}

export const LINT_RULES = {
  selectsNoPod: {
    id: 'NA001',
    name: 'policy-selects-no-pod',
    severity: 'warning',
    description: 'The policy selects no pod of its namespace: it has no effect (a typo in its podSelector?).',
  },
  peerMatchesNothing: {
    id: 'NA002',
    name: 'peer-matches-nothing',
    severity: 'warning',
    description: 'A peer of a rule matches no namespace or no pod: the rule admits less than it seems to.',
  },
  ipBlockAllExcepted: {
    id: 'NA003',
    name: 'ipblock-wholly-excepted',
    severity: 'error',
    description: 'An ipBlock whose except covers its whole CIDR matches no address at all.',
  },
  namedPortUndefined: {
    id: 'NA004',
    name: 'named-port-undefined',
    severity: 'warning',
    description:
      'A named port that no destination pod of the rule defines (with that protocol): the rule never matches it.',
  },
  egressBlocksDns: {
    id: 'NA005',
    name: 'egress-blocks-dns',
    severity: 'warning',
    description:
      'Egress isolation without a rule that allows port 53: the selected pods cannot resolve names.',
  },
  partialIsolation: {
    id: 'NA006',
    name: 'partial-isolation',
    severity: 'note',
    description:
      'Some pods of a namespace are isolated in a direction and others are not: often a pod left out by mistake.',
  },
  duplicateRule: {
    id: 'NA007',
    name: 'duplicate-rule',
    severity: 'note',
    description: 'Two rules of a policy admit exactly the same peers on the same ports.',
  },
  shadowedRule: {
    id: 'NA008',
    name: 'shadowed-rule',
    severity: 'note',
    description: 'Another rule of the same policy already admits every peer and port this rule admits.',
  },
} as const satisfies Record<string, LintRule>;

export interface LintFinding {
  readonly rule: LintRule;
  readonly message: string;
  readonly object: {
    readonly kind: 'NetworkPolicy' | 'Namespace';
    readonly namespace?: string;
    readonly name: string;
  };
  readonly field: string | undefined;
}

const MAX_NAMES = 3;

function someNames(names: readonly string[]): string {
  return names.length <= MAX_NAMES
    ? names.join(', ')
    : `${names.slice(0, MAX_NAMES).join(', ')} and ${names.length - MAX_NAMES} more`;
}

function ruleField(rule: CompiledRule): string {
  return `spec.${rule.ref.direction}[${rule.ref.index}]`;
}

function peerField(rule: CompiledRule, peer: PeerMatcher): string {
  return `${ruleField(rule)}.${rule.ref.direction === 'ingress' ? 'from' : 'to'}[${peer.index}]`;
}

function portField(rule: CompiledRule, port: PortMatcher): string {
  return `${ruleField(rule)}.ports[${port.index}]`;
}

function policyObject(p: CompiledPolicy): LintFinding['object'] {
  return { kind: 'NetworkPolicy', namespace: p.ref.namespace, name: p.ref.name };
}

export function lint(engine: ExpectationEngine): LintFinding[] {
  const out: LintFinding[] = [];
  const classes = engine.classes();
  const havePods = classes.length > 0;
  const haveNamespaces = engine.namespaceList().some((n) => !n.implied);
  const byNs = new Map<string, ExpectClass[]>();
  for (const c of classes) byNs.set(c.namespace, [...(byNs.get(c.namespace) ?? []), c]);

  for (const ns of engine.namespaceList()) {
    const policies = engine.policiesIn(ns.name);
    for (const p of policies) {
      const selected = (byNs.get(ns.name) ?? []).filter(
        (c) => c.ingress?.policies.includes(p) || c.egress?.policies.includes(p),
      );
      if (havePods && selected.length === 0 && (p.isolates.ingress || p.isolates.egress)) {
        out.push({
          rule: LINT_RULES.selectsNoPod,
          message: `${formatPolicyRef(p.ref)} selects no pod (podSelector ${formatSelector(p.podSelector)}): it has no effect`,
          object: policyObject(p),
          field: 'spec.podSelector',
        });
      }
      for (const rule of [...p.ingress, ...p.egress])
        out.push(...peerFindings(engine, p, rule, havePods, haveNamespaces));
      if (havePods) out.push(...namedPortFindings(engine, p, selected));
      out.push(...duplicateFindings(p, 'ingress'), ...duplicateFindings(p, 'egress'));
      if (p.isolates.egress && havePods && !p.egress.some((r) => allowsPort(r, 53, 'UDP'))) {
        // The policy alone allows no DNS; say so only when no other policy selecting the pods does.
        const stuck = selected.filter(
          (c) => !c.egress?.rules.some(({ rule }) => allowsPort(rule, 53, 'UDP')),
        );
        if (stuck.length > 0)
          out.push({
            rule: LINT_RULES.egressBlocksDns,
            message: `${formatPolicyRef(p.ref)} isolates egress and no egress rule of the policies selecting ${someNames(stuck.flatMap((c) => c.members.map((m) => m.key)))} allows port 53/UDP: they cannot resolve names`,
            object: policyObject(p),
            field: 'spec.egress',
          });
      }
    }
    if (policies.length > 0 && havePods) {
      const inNs = byNs.get(ns.name) ?? [];
      for (const direction of ['ingress', 'egress'] as const) {
        const isolated = inNs.filter((c) => c[direction] !== undefined);
        if (isolated.length === 0 || isolated.length === inNs.length) continue;
        const open = inNs
          .filter((c) => c[direction] === undefined)
          .flatMap((c) => c.members.map((m) => m.key));
        // Pointed at a policy that isolates the others, so the finding has a file and line.
        const isolating = policies.find((q) => q.isolates[direction]) ?? (policies[0] as CompiledPolicy);
        out.push({
          rule: LINT_RULES.partialIsolation,
          message: `in namespace ${ns.name}, ${someNames(open)} ${open.length === 1 ? 'is' : 'are'} not isolated for ${direction} while other pods are (by ${formatPolicyRef(isolating.ref)})`,
          object: policyObject(isolating),
          field: 'spec.podSelector',
        });
      }
    }
  }
  return out;
}

/** Do the excepts of an ipBlock cover its CIDR? CIDRs are nested or disjoint, so sizes add up. */
function whollyExcepted(block: CompiledIPBlock): boolean {
  const bits = block.cidr.family === 4 ? 32 : 128;
  const inside = block.except
    .filter((ex) => ex.family === block.cidr.family)
    .sort((a, b) => a.prefix - b.prefix);
  const kept: ParsedCIDR[] = [];
  for (const ex of inside) {
    if (kept.some((k) => cidrContainsIP(k, { family: ex.family, value: ex.base }))) continue;
    kept.push(ex);
  }
  const covered = kept.reduce((n, ex) => n + 2n ** BigInt(bits - Math.max(ex.prefix, block.cidr.prefix)), 0n);
  return covered >= 2n ** BigInt(bits - block.cidr.prefix);
}

function peerFindings(
  engine: ExpectationEngine,
  p: CompiledPolicy,
  rule: CompiledRule,
  havePods: boolean,
  haveNamespaces: boolean,
): LintFinding[] {
  if (rule.peers.kind === 'any-peer') return [];
  const out: LintFinding[] = [];
  for (const peer of rule.peers.peers) {
    const field = peerField(rule, peer);
    if (peer.kind === 'ip-block') {
      const { block } = peer;
      if (whollyExcepted(block))
        out.push({
          rule: LINT_RULES.ipBlockAllExcepted,
          message: `ipBlock ${block.text} of ${formatPolicyRef(p.ref)} is wholly excepted: it matches no address`,
          object: policyObject(p),
          field,
        });
      continue;
    }
    if (peer.kind === 'pods-in-namespaces' && haveNamespaces) {
      const namespaces = engine
        .namespaceList()
        .filter((n) => engine.namespaceMatchesSelector(peer.namespaces, n.name));
      if (namespaces.length === 0) {
        out.push({
          rule: LINT_RULES.peerMatchesNothing,
          message: `namespaceSelector ${formatSelector(peer.namespaces)} of ${formatPolicyRef(p.ref)} matches no namespace`,
          object: policyObject(p),
          field: `${field}.namespaceSelector`,
        });
        continue;
      }
    }
    if (havePods && engine.classesMatchingPeer(p, peer).length === 0) {
      const scope =
        peer.kind === 'pods-in-policy-namespace'
          ? `namespace ${p.ref.namespace}`
          : 'the namespaces it selects';
      out.push({
        rule: LINT_RULES.peerMatchesNothing,
        message: `podSelector ${formatSelector(peer.pods)} of ${formatPolicyRef(p.ref)} matches no pod in ${scope}`,
        object: policyObject(p),
        field: `${field}.podSelector`,
      });
    }
  }
  return out;
}

/** Named ports resolve on the destination: the policy's pods for ingress, the peers' pods for egress. */
function namedPortFindings(
  engine: ExpectationEngine,
  p: CompiledPolicy,
  selected: readonly ExpectClass[],
): LintFinding[] {
  const out: LintFinding[] = [];
  for (const rule of [...p.ingress, ...p.egress]) {
    if (rule.ports.kind !== 'ports') continue;
    const destinations =
      rule.ref.direction === 'ingress'
        ? selected
        : rule.peers.kind === 'any-peer'
          ? engine.classes()
          : [...new Set(rule.peers.peers.flatMap((peer) => engine.classesMatchingPeer(p, peer)))];
    for (const m of rule.ports.ports) {
      if (m.kind !== 'named-port') continue;
      const defined = destinations.some((c) =>
        c.representative.ports.some((q) => q.name === m.name && q.protocol === m.protocol),
      );
      if (!defined && destinations.length > 0)
        out.push({
          rule: LINT_RULES.namedPortUndefined,
          message: `named port ${m.name}/${m.protocol} in ${formatPolicyRef(p.ref)} is defined by none of its destination pods (${someNames(destinations.flatMap((c) => c.members.map((x) => x.key)))})`,
          object: policyObject(p),
          field: portField(rule, m),
        });
    }
  }
  return out;
}

function allowsPort(rule: CompiledRule, port: number, protocol: Protocol): boolean {
  if (rule.ports.kind === 'any-port') return true;
  return rule.ports.ports.some(
    (m) =>
      m.protocol === protocol &&
      (m.kind === 'all-ports' || (m.kind === 'port-range' && port >= m.from && port <= m.to)),
  );
}

function peerKeys(rule: CompiledRule): Set<string> | 'any' {
  if (rule.peers.kind === 'any-peer') return 'any';
  return new Set(rule.peers.peers.map((peer) => JSON.stringify(peerShape(peer))));
}

function peerShape(peer: PeerMatcher): unknown {
  switch (peer.kind) {
    case 'pods-in-policy-namespace':
      return ['pods', formatSelector(peer.pods)];
    case 'pods-in-namespaces':
      return ['ns', formatSelector(peer.namespaces), formatSelector(peer.pods)];
    case 'ip-block':
      return ['ip', peer.block.text];
    default:
      return peer;
  }
}

/** Does `a` admit every port `b` admits? Ranges compare by containment, names by equality. */
function portsCover(a: CompiledRule, b: CompiledRule): boolean {
  if (a.ports.kind === 'any-port') return true;
  if (b.ports.kind === 'any-port') return false;
  const aPorts = a.ports.ports;
  return b.ports.ports.every((q) =>
    aPorts.some(
      (m) =>
        m.protocol === q.protocol &&
        (m.kind === 'all-ports' ||
          (m.kind === 'port-range' && q.kind === 'port-range' && m.from <= q.from && m.to >= q.to) ||
          (m.kind === 'named-port' && q.kind === 'named-port' && m.name === q.name)),
    ),
  );
}

function duplicateFindings(p: CompiledPolicy, direction: Direction): LintFinding[] {
  const rules = direction === 'ingress' ? p.ingress : p.egress;
  const out: LintFinding[] = [];
  const reported = new Set<number>();
  for (let i = 0; i < rules.length; i++) {
    const b = rules[i] as CompiledRule;
    for (let j = 0; j < rules.length; j++) {
      if (i === j || reported.has(i)) continue;
      const a = rules[j] as CompiledRule;
      const ak = peerKeys(a);
      const bk = peerKeys(b);
      const peersCover = ak === 'any' || (bk !== 'any' && [...bk].every((k) => ak.has(k)));
      if (!peersCover || !portsCover(a, b)) continue;
      const same =
        (bk === 'any') === (ak === 'any') &&
        (ak === 'any' || (bk !== 'any' && ak.size === bk.size)) &&
        portsCover(b, a);
      if (same && j > i) continue; // the later of two equal rules is the one reported
      reported.add(i);
      out.push({
        rule: same ? LINT_RULES.duplicateRule : LINT_RULES.shadowedRule,
        message: same
          ? `${direction}[${b.ref.index}] of ${formatPolicyRef(p.ref)} repeats ${direction}[${a.ref.index}]`
          : `${direction}[${b.ref.index}] of ${formatPolicyRef(p.ref)} admits nothing ${direction}[${a.ref.index}] does not already admit`,
        object: policyObject(p),
        field: ruleField(b),
      });
    }
  }
  return out;
}
