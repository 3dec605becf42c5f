// The reasons of a verdict, as data: the rules that allow it, or the policies that isolate an end
// while no rule of theirs allows the flow. ClusterNetworkPolicy chains read in tier order: the Pass
// rules that handed the flow down, then the rule that decided (or why no rule could be known to
// decide offline). Renderers turn them into the contract strings (`ns/policy#ingress[i]`,
// `clusternetworkpolicy/NAME#egress[i] (passes)`, ...) with formatReason.
import {
  type Direction,
  type DirectionVerdict,
  formatPolicyRef,
  formatRuleRef,
  type PolicyRef,
  type RuleRef,
  type Undetermined,
  type Verdict,
} from '../policy/types.ts';

/** One reason of a verdict. */
export type Reason =
  | { readonly kind: 'allows'; readonly rule: RuleRef }
  | { readonly kind: 'passes'; readonly rule: RuleRef }
  | { readonly kind: 'denies'; readonly rule: RuleRef; readonly direction: Direction }
  | { readonly kind: 'isolates'; readonly policy: PolicyRef; readonly direction: Direction }
  | { readonly kind: 'undetermined'; readonly rule: RuleRef; readonly why: Undetermined['why'] };

const UNDETERMINED: Readonly<Record<Undetermined['why'], string>> = {
  'node-peer': 'a nodes peer, unknown offline',
  'domain-peer': 'a domainNames peer, unknown offline',
  'pod-without-ip': 'a networks peer and a pod without an IP, unknown offline',
  'equal-priority': 'equal priorities disagree',
};

/** Does either direction carry ClusterNetworkPolicy reasons (a tier decided, a Pass, or unknown)? */
export function hasClusterReasons(v: Verdict): boolean {
  const d = (x: DirectionVerdict) =>
    x.tier !== undefined || x.passedBy !== undefined || x.undetermined !== undefined;
  return d(v.egress) || d(v.ingress);
}

function passes(x: DirectionVerdict): Reason[] {
  return (x.passedBy ?? []).map((rule) => ({ kind: 'passes', rule }));
}

function denial(x: DirectionVerdict, direction: Direction): Reason[] {
  const why = x.undetermined?.why ?? 'equal-priority';
  if (x.undetermined)
    return [
      ...passes(x),
      ...x.undetermined.rules.map((rule): Reason => ({ kind: 'undetermined', rule, why })),
    ];
  if (x.deniedBy)
    return [...passes(x), ...x.deniedBy.map((rule): Reason => ({ kind: 'denies', rule, direction }))];
  return [...passes(x), ...x.isolatedBy.map((policy): Reason => ({ kind: 'isolates', policy, direction }))];
}

/** The reasons of a verdict, as data. */
export function reasonsOf(v: Verdict): Reason[] {
  if (v.allowed)
    return [
      ...passes(v.egress),
      ...v.egress.allowedBy.map((rule): Reason => ({ kind: 'allows', rule })),
      ...passes(v.ingress),
      ...v.ingress.allowedBy.map((rule): Reason => ({ kind: 'allows', rule })),
    ];
  const out: Reason[] = [];
  if (!v.egress.allowed) out.push(...denial(v.egress, 'egress'));
  if (!v.ingress.allowed) out.push(...denial(v.ingress, 'ingress'));
  return out;
}

/** A reason as the contract writes it. */
export function formatReason(r: Reason): string {
  switch (r.kind) {
    case 'allows':
      return formatRuleRef(r.rule);
    case 'passes':
      return `${formatRuleRef(r.rule)} (passes)`;
    case 'denies':
      return `${formatRuleRef(r.rule)} (denies ${r.direction})`;
    case 'isolates':
      return `${formatPolicyRef(r.policy)} (isolates ${r.direction}; no rule allows)`;
    case 'undetermined':
      return `${formatRuleRef(r.rule)} (${UNDETERMINED[r.why]})`;
    default:
      return r satisfies never;
  }
}

/** The policy a reason names. */
export function reasonPolicy(r: Reason): PolicyRef {
  return r.kind === 'isolates' ? r.policy : r.rule.policy;
}

/** The reasons of a verdict as the contract writes them. */
export function verdictReasons(v: Verdict): string[] {
  return reasonsOf(v).map(formatReason);
}
