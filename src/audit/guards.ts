// Classes whose imitation could disturb workloads are not probed:
//  - a Service with publishNotReadyAddresses would route real traffic to a never-Ready probe pod;
//  - a PodDisruptionBudget would count a probe pod it cannot map to a scalable controller, and its
//    controller may then stop allowing evictions (node drains) until the pod is gone.
import type { DisruptionBudgetInfo, ServiceInfo } from '../kube/read-cluster.ts';
import { compileSelector } from '../policy/labels.ts';
import type { Guard } from './plan.ts';

export function guardsFor(
  services: readonly ServiceInfo[],
  budgets: readonly DisruptionBudgetInfo[],
): Guard[] {
  const guards: Guard[] = [];
  for (const s of services) {
    if (!s.publishNotReadyAddresses || !s.selector || Object.keys(s.selector).length === 0) continue;
    guards.push({
      namespace: s.namespace,
      selector: compileSelector({ matchLabels: s.selector }, 'spec.selector').selector,
      reason: `Service ${s.namespace}/${s.name} publishes not-ready addresses: it would send real traffic to a probe pod`,
    });
  }
  for (const b of budgets) {
    if (!b.selector) continue;
    const compiled = compileSelector(b.selector, 'spec.selector');
    if (compiled.issues.length > 0) continue;
    guards.push({
      namespace: b.namespace,
      selector: compiled.selector,
      reason: `PodDisruptionBudget ${b.namespace}/${b.name} selects it: a probe pod could block evictions while it lives`,
    });
  }
  return guards;
}
