// Keys that appear twice in one object of a JSON text, with their field paths and offsets. JSON.parse
// keeps the last of them silently, while the API server reports them (an error under strict field
// validation, kubectl's default). Only texts the splitter marks as suspect come here (json-split.ts),
// and only after JSON.parse accepted them, so the text is known to be valid JSON.

import type { PathSegment } from './field-path.ts';

export interface DuplicateKey {
  /** The path of the repeated key (its object's path, then the key). */
  readonly path: readonly PathSegment[];
  /** Offset in the text of the key's second (or later) occurrence. */
  readonly offset: number;
}

interface Frame {
  /** Keys seen so far (objects), or undefined (arrays). */
  readonly keys: Set<string> | undefined;
  /** The segment that led to this frame from its parent (undefined at the top). */
  readonly segment: PathSegment | undefined;
  /** Arrays: index of the next element; objects: the current key. */
  index: number;
  key: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The end (after the closing quote) of the string starting at `at`. */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) return text.length;
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    i = q + 1;
  }
}

function keyOf(raw: string): string {
  if (!raw.includes('\\')) return raw.slice(1, -1);
  return JSON.parse(raw) as string;
}

/**
 * Every repeated key of every object of `text` (valid JSON), in text order. Linear in the text: one
 * Set per open object, an explicit stack (the text may be nested deeply).
 */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const out: DuplicateKey[] = [];
  const stack: Frame[] = [];
  let expectKey = false;
  const path = (key: string): PathSegment[] => {
    const segments: PathSegment[] = [];
    for (const f of stack) if (f.segment !== undefined) segments.push(f.segment);
    segments.push(key);
    return segments;
  };
  /** The segment a value opened now sits at in the innermost frame. */
  const here = (): PathSegment | undefined => {
    const top = stack.at(-1);
    if (top === undefined) return undefined;
    return top.keys === undefined ? top.index : top.key;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    switch (c) {
      case QUOTE: {
        const end = stringEnd(text, i);
        const top = stack.at(-1);
        if (expectKey && top?.keys !== undefined) {
          const key = keyOf(text.slice(i, end));
          if (top.keys.has(key)) out.push({ path: path(key), offset: i });
          else top.keys.add(key);
          top.key = key;
        }
        i = end - 1;
        break;
      }
      case 0x7b: // {
        stack.push({ keys: new Set(), segment: here(), index: 0, key: '' });
        expectKey = true;
        break;
      case 0x5b: // [
        stack.push({ keys: undefined, segment: here(), index: 0, key: '' });
        expectKey = false;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        stack.pop();
        expectKey = false;
        break;
      case 0x2c: {
        // ,
        const top = stack.at(-1);
        if (top !== undefined && top.keys === undefined) top.index++;
        expectKey = top?.keys !== undefined;
        break;
      }
      case 0x3a: // :
        expectKey = false;
        break;
    }
  }
  return out;
}
