// Maps a field path inside a parsed YAML document to the line of that node, so that problems found
// later (by the validator or the engine, which only know field paths) can point at a line.

import { isMap, isNode, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { formatFieldPath, type PathSegment } from './field-path.ts';
import type { FlatMap } from './yaml-flat-maps.ts';

/** Where a document's object lives: its node and the file's line counter. */
export interface NodeAnchor {
  readonly node: Node;
  readonly lineCounter: LineCounter;
  /** Lines before the text the node was parsed from (a document or an item cut out of a file). */
  readonly lineOffset?: number;
  /** Maps read apart from the node (yaml-flat-maps.ts): their keys' lines are theirs. */
  readonly flatMaps?: readonly FlatMap[];
  /** Keys written twice (formatted paths) and the line of the repeat, which is where they point. */
  readonly repeats?: ReadonlyMap<string, number>;
}

/** The line of `segments` when they lead into a map read apart, or undefined. */
function flatMapLine(anchor: NodeAnchor, segments: readonly PathSegment[]): number | undefined {
  for (const m of anchor.flatMaps ?? []) {
    if (segments.length <= m.path.length || !m.path.every((k, i) => segments[i] === k)) continue;
    const line = m.lines.get(String(segments[m.path.length]));
    if (line !== undefined) return line + 1 + (anchor.lineOffset ?? 0);
  }
  return undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function child(node: Node, segment: PathSegment): { node: Node; offset: number } | undefined {
  if (isSeq(node) && typeof segment === 'number') {
    const item: unknown = node.items[segment];
    if (!isNode(item) || item.range == null) return undefined;
    return { node: item, offset: item.range[0] };
  }
  if (isMap(node)) {
    const wanted = String(segment);
    for (const pair of node.items) {
      if (!isNode(pair.key) || keyText(pair.key) !== wanted) continue;
      const offset = pair.key.range?.[0];
      if (offset === undefined) return undefined;
      // `key:` with nothing after it has no value node: stay on the key.
      return { node: isNode(pair.value) ? pair.value : pair.key, offset };
    }
  }
  return undefined;
}

/**
 * The 1-based line of the node at `segments` below `anchor`, or of its nearest existing ancestor.
 * A map entry is located at its key (the `cidr:` line), a list item at its first character.
 * String segments that are not found are retried joined with dots, so that a hand-written
 * `metadata.labels.app.kubernetes.io/name` still finds the label.
 */
export function locateLine(anchor: NodeAnchor, segments: readonly PathSegment[]): number {
  const repeat = anchor.repeats?.size ? anchor.repeats.get(formatFieldPath(segments)) : undefined;
  if (repeat !== undefined) return repeat;
  const flat = flatMapLine(anchor, segments);
  if (flat !== undefined) return flat;
  let node = anchor.node;
  let offset = node.range?.[0] ?? 0;
  let i = 0;
  while (i < segments.length) {
    let step = child(node, segments[i] as PathSegment);
    let used = 1;
    if (step === undefined && typeof segments[i] === 'string') {
      for (let j = i + 2; j <= segments.length && step === undefined; j++) {
        const parts = segments.slice(i, j);
        if (parts.some((p) => typeof p !== 'string')) break;
        step = child(node, parts.join('.'));
        used = j - i;
      }
    }
    if (step === undefined) break;
    node = step.node;
    offset = step.offset;
    i += used;
  }
  return anchor.lineCounter.linePos(offset).line + (anchor.lineOffset ?? 0);
}
