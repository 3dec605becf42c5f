// Which nodes a round probes, and why each other node is left out. Pure: node facts and the user's
// choices in, the nodes to probe and every node with its exclusion out (the exclusions become
// `not-covered` node verdicts, so no node goes missing silently).
//
// | node                                   | probed?                                          |
// |----------------------------------------|--------------------------------------------------|
// | NotReady                               | no: not-ready (pods would not start)             |
// | cordoned (spec.unschedulable)          | no: cordoned (its owner is draining it)          |
// | outside --node-selector                | no: not-selected                                 |
// | NoSchedule / NoExecute taints          | yes when tolerating taints (the default, as node |
// |                                        | monitoring agents do), else no: tainted          |
// | otherwise                              | yes                                              |
import type { Result } from '../core/result.ts';
import type { NotCovered } from './nodes.ts';

export interface NodeFacts {
  readonly name: string;
  readonly ready: boolean;
  readonly cordoned: boolean;
  readonly taints: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface NodeScopeOptions {
  readonly tolerateTaints: boolean;
  /** Equality requirements on node labels (`key=value`); empty: every node. */
  readonly nodeSelector: Readonly<Record<string, string>>;
}

export interface NodeScope {
  /** Names of the nodes to probe, sorted. */
  readonly probe: readonly string[];
  /** Every node, sorted by name, with the reason it is left out (undefined: probed). */
  readonly all: readonly { readonly name: string; readonly excluded: NotCovered | undefined }[];
}

export function nodeScope(nodes: readonly NodeFacts[], options: NodeScopeOptions): NodeScope {
  const all = [...nodes]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((n) => ({ name: n.name, excluded: exclusion(n, options) }));
  return { probe: all.filter((n) => n.excluded === undefined).map((n) => n.name), all };
}

function exclusion(n: NodeFacts, o: NodeScopeOptions): NotCovered | undefined {
  if (!n.ready) return { kind: 'not-ready' };
  if (n.cordoned) return { kind: 'cordoned' };
  const selector = Object.entries(o.nodeSelector);
  if (selector.some(([k, v]) => n.labels[k] !== v))
    return { kind: 'not-selected', selector: selector.map(([k, v]) => `${k}=${v}`).join(',') };
  if (n.taints.length > 0 && !o.tolerateTaints) return { kind: 'tainted', taints: n.taints };
  return undefined;
}

/** `key=value,key2=value2` as a label map, or the reason it is not one. */
export function parseNodeSelector(text: string): Result<Record<string, string>, string> {
  const value: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${part}" is not key=value` };
    value[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return { ok: true, value };
}
