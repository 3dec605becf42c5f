// The expected reachability matrix, computed per class and expanded to pods only for output.
import { ipBlockContains } from '../policy/cidr.ts';
import { type EvalContext, evaluate, peerMatches } from '../policy/evaluate.ts';
import type { CompiledPolicy, Endpoint, ParsedIP, PodInfo, Protocol, Verdict } from '../policy/types.ts';
import type { ClassId, PodClass } from './classes.ts';

export interface PortSpec {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface ExternalTarget {
  readonly text: string;
  readonly ip: ParsedIP;
}

/** Where traffic goes: a class, or an external address (`ip:203.0.113.8`). */
export type TargetId = ClassId | `ip:${string}`;

export interface ClassVerdict {
  readonly from: ClassId;
  readonly to: TargetId;
  readonly port: number;
  readonly protocol: Protocol;
  readonly verdict: Verdict;
}

export interface MatrixOptions {
  /** Probe exactly these ports; default: per destination, its container ports plus the numeric ports rules name. */
  readonly ports?: readonly PortSpec[] | undefined;
  readonly externals?: readonly ExternalTarget[] | undefined;
}

/** Port used for an external target that no rule names a port for. */
export const DEFAULT_EXTERNAL_PORT: PortSpec = { port: 80, protocol: 'TCP' };

function portKey(p: PortSpec): string {
  return `${p.port}/${p.protocol}`;
}

export function sortPorts(ports: Iterable<PortSpec>): PortSpec[] {
  const unique = new Map<string, PortSpec>();
  for (const p of ports) unique.set(portKey(p), p);
  return [...unique.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

function numericRulePorts(policy: CompiledPolicy, direction: 'ingress' | 'egress', out: PortSpec[]): void {
  for (const rule of direction === 'ingress' ? policy.ingress : policy.egress) {
    if (rule.ports.kind !== 'ports') continue;
    for (const m of rule.ports.ports) {
      if (m.kind !== 'port-range') continue;
      out.push({ port: m.from, protocol: m.protocol });
      if (m.to !== m.from) out.push({ port: m.to, protocol: m.protocol });
    }
  }
}

/**
 * Default ports for one destination: its container ports, the numeric ports of ingress rules of the
 * policies that select it, and those of egress rules anywhere whose peers can reach it.
 */
export function defaultPortsFor(
  ctx: EvalContext,
  allPolicies: readonly CompiledPolicy[],
  destination: Endpoint,
): PortSpec[] {
  const out: PortSpec[] = [];
  if (destination.kind === 'pod') {
    for (const p of destination.pod.ports) out.push({ port: p.port, protocol: p.protocol });
    for (const policy of ctx.policiesIn(destination.pod.namespace)) {
      if (policy.isolates.ingress) numericRulePorts(policy, 'ingress', out);
    }
  }
  for (const policy of allPolicies) {
    for (const rule of policy.egress) {
      if (rule.ports.kind !== 'ports') continue;
      const reaches =
        rule.peers.kind === 'any-peer' ||
        rule.peers.peers.some((peer) =>
          destination.kind === 'external' && peer.kind === 'ip-block'
            ? ipBlockContains(peer.block, destination.ip)
            : peerMatches(ctx, policy, peer, destination),
        );
      if (!reaches) continue;
      for (const m of rule.ports.ports) {
        if (m.kind !== 'port-range') continue;
        out.push({ port: m.from, protocol: m.protocol });
        if (m.to !== m.from) out.push({ port: m.to, protocol: m.protocol });
      }
    }
  }
  if (destination.kind === 'external') {
    // The same ports for every external target, so that an address just outside a CIDR is
    // evaluated on the ports its neighbour inside the CIDR is allowed on.
    out.length = 0;
    for (const policy of allPolicies) numericRulePorts(policy, 'egress', out);
    if (out.length === 0) out.push(DEFAULT_EXTERNAL_PORT);
  }
  return sortPorts(out);
}

export interface Matrix {
  readonly classes: readonly PodClass[];
  readonly externals: readonly ExternalTarget[];
  readonly verdicts: readonly ClassVerdict[];
}

export function computeMatrix(
  ctx: EvalContext,
  classes: readonly PodClass[],
  allPolicies: readonly CompiledPolicy[],
  options: MatrixOptions = {},
): Matrix {
  const memoCtx: EvalContext = ctx.selectionMemo ? ctx : { ...ctx, selectionMemo: new WeakMap() };
  const externals = options.externals ?? [];
  const destinations: { id: TargetId; endpoint: Endpoint; ports: PortSpec[] }[] = [];
  for (const cls of classes) {
    const endpoint: Endpoint = { kind: 'pod', pod: cls.representative };
    destinations.push({
      id: cls.id,
      endpoint,
      ports: options.ports ? sortPorts(options.ports) : defaultPortsFor(memoCtx, allPolicies, endpoint),
    });
  }
  for (const ext of externals) {
    const endpoint: Endpoint = { kind: 'external', ip: ext.ip, text: ext.text };
    destinations.push({
      id: `ip:${ext.text}`,
      endpoint,
      ports: options.ports ? sortPorts(options.ports) : defaultPortsFor(memoCtx, allPolicies, endpoint),
    });
  }
  const verdicts: ClassVerdict[] = [];
  for (const src of classes) {
    for (const dst of destinations) {
      for (const { port, protocol } of dst.ports) {
        const verdict = evaluate(memoCtx, { from: src.representative, to: dst.endpoint, port, protocol });
        verdicts.push({ from: src.id, to: dst.id, port, protocol, verdict });
      }
    }
  }
  return { classes, externals, verdicts };
}

export interface PodVerdict {
  readonly from: PodInfo;
  readonly to:
    | { readonly kind: 'pod'; readonly pod: PodInfo }
    | { readonly kind: 'external'; readonly text: string };
  readonly port: number;
  readonly protocol: Protocol;
  readonly verdict: Verdict;
}

/** Expands class verdicts to pods, skipping a pod's traffic to itself (always allowed, not filtered). */
export function* expandToPods(matrix: Matrix): Generator<PodVerdict> {
  const byId = new Map(matrix.classes.map((c) => [c.id as string, c]));
  for (const v of matrix.verdicts) {
    const src = byId.get(v.from);
    if (!src) continue;
    if (v.to.startsWith('ip:')) {
      for (const from of src.members) {
        yield {
          from,
          to: { kind: 'external', text: v.to.slice(3) },
          port: v.port,
          protocol: v.protocol,
          verdict: v.verdict,
        };
      }
      continue;
    }
    const dst = byId.get(v.to);
    if (!dst) continue;
    for (const from of src.members) {
      for (const to of dst.members) {
        if (from === to) continue;
        yield { from, to: { kind: 'pod', pod: to }, port: v.port, protocol: v.protocol, verdict: v.verdict };
      }
    }
  }
}
