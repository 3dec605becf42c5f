// The reasons of a verdict as contract strings: the rules that allow it (`ns/policy#ingress[i]`,
// `clusternetworkpolicy/NAME#egress[i]`), or the policies that isolate an end while no rule of theirs
// allows the flow. ClusterNetworkPolicy chains read in tier order: the Pass rules that handed the flow
// down, then the rule that decided (or why no rule could be known to decide offline).
import type {} from '../core/traffic.ts';
import {
  type DirectionVerdict,
  formatPolicyRef,
  formatRuleRef,
  type Undetermined,
  type Verdict,
} from '../policy/types.ts';

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

function passes(x: DirectionVerdict): string[] {
  return (x.passedBy ?? []).map((r) => `${formatRuleRef(r)} (passes)`);
}

function denial(x: DirectionVerdict, direction: 'egress' | 'ingress'): string[] {
  if (x.undetermined)
    return [
      ...passes(x),
      ...x.undetermined.rules.map(
        (r) => `${formatRuleRef(r)} (${UNDETERMINED[x.undetermined?.why ?? 'equal-priority']})`,
      ),
    ];
  if (x.deniedBy)
    return [...passes(x), ...x.deniedBy.map((r) => `${formatRuleRef(r)} (denies ${direction})`)];
  return [
    ...passes(x),
    ...x.isolatedBy.map((p) => `${formatPolicyRef(p)} (isolates ${direction}; no rule allows)`),
  ];
}

export function verdictReasons(v: Verdict): string[] {
  if (v.allowed)
    return [
      ...passes(v.egress),
      ...v.egress.allowedBy.map(formatRuleRef),
      ...passes(v.ingress),
      ...v.ingress.allowedBy.map(formatRuleRef),
    ];
  const out: string[] = [];
  if (!v.egress.allowed) out.push(...denial(v.egress, 'egress'));
  if (!v.ingress.allowed) out.push(...denial(v.ingress, 'ingress'));
  return out;
}
