// A summary of an analysis for when the matrix is too big to read: per namespace, its pods and
// classes and how many pods are isolated per direction; per namespace pair, how many (pod, pod, port)
// flows are allowed and denied, counted over classes (weighted by their pods) while that stays
// within a budget of verdicts to decide.
import type { ExpectationEngine, ExpectClass } from './engine.ts';

export interface NamespaceSummary {
  readonly name: string;
  readonly pods: number;
  readonly classes: number;
  readonly policies: number;
  readonly ingressIsolatedPods: number;
  readonly egressIsolatedPods: number;
}

export interface PairSummary {
  readonly from: string;
  readonly to: string;
  readonly allowed: number;
  readonly denied: number;
}

export interface AnalysisSummary {
  readonly namespaces: readonly NamespaceSummary[];
  /** Undefined when counting them would decide more verdicts than the budget allows. */
  readonly pairs: readonly PairSummary[] | undefined;
  /** Class verdicts the pair counts need (decided only when within the budget). */
  readonly pairCells: number;
}

/** Verdicts the pair counts may decide: about a second of work on two cores. */
export const PAIR_BUDGET = 2_000_000;

export function summarize(
  engine: ExpectationEngine,
  classes: readonly ExpectClass[] = engine.classes(),
  budget = PAIR_BUDGET,
): AnalysisSummary {
  const byNs = new Map<string, { pods: number; classes: number; ingress: number; egress: number }>();
  for (const cls of classes) {
    const e = byNs.get(cls.namespace) ?? { pods: 0, classes: 0, ingress: 0, egress: 0 };
    e.pods += cls.members.length;
    e.classes++;
    if (cls.ingress) e.ingress += cls.members.length;
    if (cls.egress) e.egress += cls.members.length;
    byNs.set(cls.namespace, e);
  }
  const namespaces = [...byNs.entries()]
    .map(([name, e]) => ({
      name,
      pods: e.pods,
      classes: e.classes,
      policies: engine.policiesIn(name).length,
      ingressIsolatedPods: e.ingress,
      egressIsolatedPods: e.egress,
    }))
    .sort((a, b) => b.pods - a.pods || (a.name < b.name ? -1 : 1));

  const destinations = classes.map((cls) => ({
    cls,
    ports: engine.portsOf({ kind: 'class', id: cls.id, cls, endpoint: cls.endpoint }),
  }));
  let pairCells = 0;
  for (const d of destinations) pairCells += d.ports.length * classes.length;
  if (pairCells > budget) return { namespaces, pairs: undefined, pairCells };
  const counts = new Map<string, { from: string; to: string; allowed: number; denied: number }>();
  for (const src of classes) {
    for (const { cls: dst, ports } of destinations) {
      const flows = src.members.length * dst.members.length - (src === dst ? src.members.length : 0);
      if (flows === 0) continue;
      const key = `${src.namespace}\n${dst.namespace}`;
      let e = counts.get(key);
      if (!e) {
        e = { from: src.namespace, to: dst.namespace, allowed: 0, denied: 0 };
        counts.set(key, e);
      }
      for (const { port, protocol } of ports) {
        if (engine.allows(src, dst, port, protocol)) e.allowed += flows;
        else e.denied += flows;
      }
    }
  }
  // The open paths first: what a reviewer looks for is where traffic may flow.
  const pairs = [...counts.values()].sort(
    (a, b) => b.allowed - a.allowed || a.denied - b.denied || (a.from + a.to < b.from + b.to ? -1 : 1),
  );
  return { namespaces, pairs, pairCells };
}
