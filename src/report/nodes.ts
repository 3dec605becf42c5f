// Node verdicts in words and in the JSON contract: `nodes: [{name, status, probes, unexpectedAllow,
// unexpectedDeny, inconclusive, reason}]`. The evidence stays data until here.
import type { NodeVerdict, NotCovered } from '../audit/nodes.ts';
import type { Flow } from '../core/flow.ts';

export interface NodeJson {
  readonly name: string;
  readonly status: NodeVerdict['status'];
  readonly probes: number;
  readonly unexpectedAllow: number;
  readonly unexpectedDeny: number;
  readonly inconclusive: number;
  readonly reason: string;
}

export function nodesJson(verdicts: readonly NodeVerdict[]): NodeJson[] {
  return verdicts.map((v) => ({
    name: v.name,
    status: v.status,
    probes: v.probes,
    unexpectedAllow: v.unexpectedAllow,
    unexpectedDeny: v.unexpectedDeny,
    inconclusive: v.inconclusive,
    reason: nodeReason(v),
  }));
}

export function flowText(f: Flow): string {
  return `${f.from} -> ${f.to} ${f.port}/${f.protocol} (${f.srcNode} -> ${f.dstNode ?? 'external'})`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function nodeReason(v: NodeVerdict): string {
  const e = v.evidence;
  const drops =
    v.unexpectedDeny > 0 ? `; ${plural(v.unexpectedDeny, 'allowed flow')} dropped on its paths` : '';
  switch (e.kind) {
    case 'not-covered':
      return notCoveredReason(e.why);
    case 'dry-run':
      return 'dry run: no probe ran, nothing is known about this node';
    case 'no-evidence':
      return `no denied flow that this node alone enforces was probed conclusively${
        v.inconclusive > 0 ? ` (${v.inconclusive} inconclusive)` : ''
      }${drops}`;
    case 'evidence': {
      const example = e.examples[0] ? ` (e.g. ${flowText(e.examples[0])})` : '';
      switch (v.status) {
        case 'not-enforcing':
          return `${plural(e.leaked, 'denied flow')} that this node alone enforces got through, none was blocked${example}${drops}`;
        case 'partial':
          return `${e.leaked} of ${e.leaked + e.held} denied flows that this node alone enforces got through${example}${drops}`;
        default:
          return `blocked all ${plural(e.held, 'denied flow')} that this node alone enforces${drops}`;
      }
    }
    default:
      return e satisfies never;
  }
}

export function notCoveredReason(why: NotCovered): string {
  switch (why.kind) {
    case 'not-ready':
      return 'not probed: the node is not Ready';
    case 'cordoned':
      return 'not probed: the node is cordoned (unschedulable)';
    case 'tainted':
      return `not probed: taints ${why.taints.join(', ')} (--tolerate-taints to probe it)`;
    case 'not-selected':
      return `not probed: outside --node-selector ${why.selector}`;
    case 'outside-window':
      return 'not probed this round: outside the rotation window (--max-probe-pods); a later round covers it';
    case 'pods-failed':
      return `not probed: ${plural(why.failed, 'probe pod')} failed on it: ${why.reason}`;
    case 'no-probe':
      return 'not probed: no probe pod was planned on it';
    default:
      return why satisfies never;
  }
}
