// The reasons of a verdict as contract strings: the rules that allow it (`ns/policy#ingress[i]`), or
// the policies that isolate an end while no rule of theirs allows the flow.
import { formatPolicyRef, formatRuleRef, type Verdict } from '../policy/types.ts';

export function verdictReasons(v: Verdict): string[] {
  if (v.allowed) return [...v.egress.allowedBy, ...v.ingress.allowedBy].map(formatRuleRef);
  const out: string[] = [];
  if (!v.egress.allowed)
    out.push(...v.egress.isolatedBy.map((p) => `${formatPolicyRef(p)} (isolates egress; no rule allows)`));
  if (!v.ingress.allowed)
    out.push(...v.ingress.isolatedBy.map((p) => `${formatPolicyRef(p)} (isolates ingress; no rule allows)`));
  return out;
}
