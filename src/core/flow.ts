// A flow as every part of netaudit speaks of it: from a pod to a pod (or an external address) on a
// port, probed from one node to another. Plans, probe records, findings, node verdicts, Events and
// metrics all carry this one shape, and a finding keeps its reasons as data until a renderer
// formats them.
import type { Reason } from '../expect/reasons.ts';
import type { Protocol } from './traffic.ts';

export interface Flow {
  /** The source pod, `namespace/name` (the representative of its class). */
  readonly from: string;
  /** The destination pod, `namespace/name`, or `ip:<address>` for an external target. */
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** The node the probe left from. */
  readonly srcNode: string;
  /** The node the destination pod ran on (none for an external target). */
  readonly dstNode: string | undefined;
}

/** A flow between classes: what a probe of a round stands for. */
export interface ClassFlow extends Flow {
  readonly fromClass: string;
  /** None for an external target. */
  readonly toClass: string | undefined;
}

export type MismatchKind = 'unexpected-allow' | 'unexpected-deny';

/** What a probe saw, as a mismatch reports it. */
export type Observed = 'connected' | 'refused' | 'timeout' | 'blocked';

/** A confirmed mismatch between the expected and the observed verdict of a flow. */
export interface Finding extends ClassFlow {
  readonly expected: 'allow' | 'deny';
  readonly observed: Observed;
  readonly kind: MismatchKind;
  /** The rules behind the expectation: allowing rules, or the policies that isolate with no rule matching. */
  readonly because: readonly Reason[];
  /** The nodes that should have enforced the expectation (deny) or that may have dropped (allow). */
  readonly nodes: readonly string[];
  /** The workload pods the probe pods stand for. */
  readonly fromPods: readonly string[];
  readonly toPods: readonly string[];
  readonly probePods: { readonly client: string; readonly server: string | undefined };
  readonly explanation: readonly string[];
}
