// The engine's verdicts walked cell by cell, for outputs that list them: (source class, destination,
// port), or expanded to pods. Every verdict is decided when it is read; nothing is held in between,
// so a consumer that streams its output holds one verdict at a time.

import type { Protocol } from '../core/traffic.ts';
import type { PodInfo, Verdict } from '../policy/types.ts';
import type { ClassId } from './classes.ts';
import type { Destination, ExpectationEngine, ExpectClass, TargetId } from './engine.ts';

export interface ClassVerdict {
  readonly from: ClassId;
  readonly to: TargetId;
  readonly port: number;
  readonly protocol: Protocol;
  readonly verdict: Verdict;
}

/** A flow between pods (or to an external target): what per-pod outputs list. */
export interface PodFlow {
  readonly from: PodInfo;
  readonly to:
    | { readonly kind: 'pod'; readonly pod: PodInfo }
    | { readonly kind: 'external'; readonly text: string };
  readonly port: number;
  readonly protocol: Protocol;
}

export interface PodVerdict extends PodFlow {
  readonly verdict: Verdict;
}

export interface Scope {
  /** Source classes (default: all). */
  readonly sources?: readonly ExpectClass[];
  /** Destinations (default: all classes and external targets). */
  readonly destinations?: readonly Destination[];
}

export function* classVerdicts(engine: ExpectationEngine, scope: Scope = {}): Generator<ClassVerdict> {
  const sources = scope.sources ?? engine.classes();
  const destinations = scope.destinations ?? engine.destinations();
  for (const src of sources) {
    for (const dst of destinations) {
      for (const { port, protocol } of engine.portsOf(dst)) {
        yield { from: src.id, to: dst.id, port, protocol, verdict: engine.verdict(src, dst, port, protocol) };
      }
    }
  }
}

/** Verdicts between pods, skipping a pod's traffic to itself (always allowed, not filtered). */
export function* podVerdicts(engine: ExpectationEngine, scope: Scope = {}): Generator<PodVerdict> {
  const sources = scope.sources ?? engine.classes();
  const destinations = scope.destinations ?? engine.destinations();
  for (const src of sources) {
    for (const dst of destinations) {
      for (const { port, protocol } of engine.portsOf(dst)) {
        const verdict = engine.verdict(src, dst, port, protocol);
        for (const from of src.members) {
          if (dst.kind === 'external') {
            yield { from, to: { kind: 'external', text: dst.target.text }, port, protocol, verdict };
            continue;
          }
          for (const to of dst.cls.members) {
            if (from === to) continue;
            yield { from, to: { kind: 'pod', pod: to }, port, protocol, verdict };
          }
        }
      }
    }
  }
}

/** How many verdicts a listing would hold, counted without deciding any. */
export function countCells(
  engine: ExpectationEngine,
  scope: Scope = {},
): { readonly classCells: number; readonly podCells: number } {
  const sources = scope.sources ?? engine.classes();
  const destinations = scope.destinations ?? engine.destinations();
  let sourcePods = 0;
  const sourceMembers = new Map<string, number>();
  for (const s of sources) {
    sourcePods += s.members.length;
    sourceMembers.set(s.id, s.members.length);
  }
  let classCells = 0;
  let podCells = 0;
  for (const dst of destinations) {
    const ports = engine.portsOf(dst).length;
    classCells += ports * sources.length;
    if (dst.kind === 'external') podCells += ports * sourcePods;
    else {
      // A pod's traffic to itself is not listed: the pods both views of the class hold (one is
      // the whole class, or both are).
      const self = Math.min(sourceMembers.get(dst.cls.id) ?? 0, dst.cls.members.length);
      podCells += ports * (sourcePods * dst.cls.members.length - self);
    }
  }
  return { classCells, podCells };
}
