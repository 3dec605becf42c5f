// Admin-tier ClusterNetworkPolicy rules that can deny netaudit's own traffic: Deny rules of policies
// whose subject selects a pod in netaudit's namespace (the controller, talking to the API server) or
// in the canary namespace (whose probes prove nodes enforce). Nothing in NetworkPolicy can override
// them, so netaudit reports them rather than being blocked without a word: the canary's expectations
// already include them (they stay exact), but an Admin Deny there narrows what the canary can show.
import type { ExpectationEngine } from '../expect/engine.ts';
import { formatRuleRef } from '../policy/types.ts';

export interface AdminCover {
  /** netaudit's namespace or the canary's. */
  readonly namespace: string;
  /** `clusternetworkpolicy/NAME#ingress[i]`, sorted. */
  readonly rules: readonly string[];
}

export function adminDenialsOver(engine: ExpectationEngine, namespaces: readonly string[]): AdminCover[] {
  const out: AdminCover[] = [];
  for (const namespace of [...new Set(namespaces)]) {
    const rules = new Set<string>();
    for (const cls of engine.classes()) {
      if (cls.namespace !== namespace) continue;
      for (const policy of cls.cluster?.admin ?? []) {
        for (const rule of [...policy.ingress, ...policy.egress])
          if (rule.action === 'Deny') rules.add(formatRuleRef(rule.ref));
      }
    }
    if (rules.size > 0) out.push({ namespace, rules: [...rules].sort() });
  }
  return out;
}

/** A stable text of the covers, to log only when it changes. */
export function coverSignature(covers: readonly AdminCover[]): string {
  return covers.map((c) => `${c.namespace}:${c.rules.join(',')}`).join(';');
}
