// Splits a JSON byte stream into pieces small enough for JSON.parse, without ever holding the whole
// text: a List of 200k objects is larger than the longest string V8 can make, and one JSON.parse of
// it would keep every object alive at once. This scanner only finds boundaries (strings, brackets,
// lines); JSON.parse, native and fast, reads each piece and reports its syntax errors.
//
// Pieces: every top-level value is a document (concatenated JSON documents are read one by one, as
// kubectl does); each element of a top-level object's `items` array is an item of its own, and the
// document's text then has `"items": []` in their place.
//
// Unread values (optional, `fieldsFor`): inside a List item whose `kind` comes before them (as
// kubectl writes every object), the value of a field netaudit never reads for that kind that is an
// object or an array (managedFields, annotations, env, volumes, status conditions: most of a pod's
// bytes) is validated as strict JSON here (json-skip.ts) and written `{}` or `[]` in the item's text,
// with its newlines, so that lines stay true. A value it cannot certainly validate (a syntax error,
// a value crossing a chunk's end) is kept whole, for JSON.parse to read or report as before.
//
// Duplicate keys: JSON.parse keeps the last of them silently, where the API server reports them. The
// scan already stops at every key, so it also keeps a 32-bit hash of each object's keys; a piece
// where two keys of one object hash alike (or a key holds an escape, whose meaning the bytes do not
// show) is marked `suspectKeys`, and only such pieces are searched exactly (json-duplicates.ts).

import { FALSE, literalEnd, NULL, numberEnd, skipJsonValue, skipped, stringEnd, TRUE } from './json-skip.ts';
import type { Fields } from './read-fields.ts';

export interface JsonItem {
  readonly type: 'item';
  /** 0-based index of the top-level document, and of the item in its `items`. */
  readonly document: number;
  readonly index: number;
  readonly text: string;
  /** 1-based line of the item's first character, and its byte range in the stream. */
  readonly line: number;
  readonly offset: number;
  readonly bytes: number;
  /** Some object in it may hold a key twice (false: none does). */
  readonly suspectKeys: boolean;
}

export interface JsonDocument {
  readonly type: 'document';
  readonly document: number;
  /** The top-level value; when it had an `items` array, that array is written `[]`. */
  readonly text: string;
  readonly line: number;
  /** Its byte range in the stream (items included). */
  readonly offset: number;
  readonly bytes: number;
  readonly hadItems: boolean;
  /** Some object in its text (items excluded) may hold a key twice (false: none does). */
  readonly suspectKeys: boolean;
}

export interface JsonSplitError {
  readonly type: 'error';
  readonly document: number;
  readonly line: number;
  readonly message: string;
}

export type JsonPiece = JsonItem | JsonDocument | JsonSplitError;

/**
 * Told a top-level object's `kind` and `apiVersion` as soon as they are read (before its items when
 * they come first), so that the items can be read before the document ends.
 */
export type HeadListener = (document: number, field: 'kind' | 'apiVersion', value: string) => void;

export interface SplitOptions {
  /** The fields read of an object of this kind; other fields' object and array values are cut out. */
  readonly fieldsFor?: (kind: string) => Fields;
  /** Items whole in the buffer are read in one tight pass (default); false: by the scan only (tests). */
  readonly fast?: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
const RETURN = 0x0d;

/** Byte classes for the scan (0: anything else): structural bytes stop it, newlines are counted. */
const LINE = 1;
const STRUCTURAL = 2;
const SPACE_CLASS = 3;
const CLASS = new Uint8Array(256);
for (const b of [QUOTE, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY, COMMA, COLON])
  CLASS[b] = STRUCTURAL;
CLASS[NEWLINE] = LINE;
for (const b of [SPACE, TAB, RETURN]) CLASS[b] = SPACE_CLASS;

/** Keys of one object compared one by one up to this many; beyond, through a Set (hostile input). */
const LINEAR_KEYS = 16;

/** FNV-1a of a key's bytes (between its quotes); undefined when it holds an escape. */
function hashKey(buf: Uint8Array, from: number, to: number): number | undefined {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    const b = buf[i] as number;
    if (b === BACKSLASH) {
      // Most escapes have one spelling, so equal keys have equal bytes (managedFields' keys such as
      // k:{\"type\":\"Ready\"} are in every pod); only \uXXXX and \/ can spell a key two ways.
      const next = buf[i + 1] as number;
      if (next === LOWER_U || next === SLASH) return undefined;
      h = Math.imul(h ^ b, 0x01000193);
      h = Math.imul(h ^ next, 0x01000193);
      i++;
      continue;
    }
    h = Math.imul(h ^ b, 0x01000193);
  }
  return h;
}

const LOWER_U = 0x75;
const SLASH = 0x2f;

/**
 * What is read below an open object or array of an item: everything (ALL), nothing (SKIP, for a
 * value about to open), not yet known (PENDING: an item's top before its `kind`), or the key hashes
 * of the fields read, each with what is read below it.
 */
type ReadNode = number | Map<number, ReadNode>;
const ALL = 0;
const SKIP = 1;
const PENDING = 2;

function hashString(s: string): number {
  return hashKey(new TextEncoder().encode(s), 0, s.length) as number;
}

function compileFields(fields: Fields): ReadNode {
  if (fields === true) return ALL;
  const out = new Map<number, ReadNode>();
  for (const [key, below] of Object.entries(fields)) {
    const h = hashString(key);
    // Two names alike: read both whole (never happens with Kubernetes' field names).
    out.set(h, out.has(h) ? ALL : compileFields(below));
  }
  return out;
}

const KIND_HASH = hashString('kind');
const ZERO_TEXT = new Uint8Array([0x30]);
/** A cut that drops its key with the value (fastItem): only the value's newlines are written. */
const DROP = 0;

/** fastItem's states, as json-skip.ts's. */
const F_VALUE = 0;
const F_KEY_OR_CLOSE = 1;
const F_KEY = 2;
const F_COLON = 3;
const F_AFTER = 4;
const F_VALUE_OR_CLOSE = 5;
/** Items nested deeper, or with an object of more keys, go to the scan instead. */
const FAST_DEPTH = 64;
const FAST_KEYS = 32;
const FAST_TYPES = new Uint8Array(FAST_DEPTH);
const FAST_KEYS_FROM = new Int32Array(FAST_DEPTH);
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;

/** Longest key or kind value decoded for the checks below; longer ones are neither `items` nor a kind. */
const MAX_KEY_BYTES = 256;

const decoder = new TextDecoder('utf-8');

function decodeOne(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined; // longer than a string may be
  }
}

function decode(parts: readonly Uint8Array[]): string | undefined {
  try {
    if (parts.length === 1) return decoder.decode(parts[0]);
    let size = 0;
    for (const p of parts) size += p.length;
    const all = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return decoder.decode(all);
  } catch {
    return undefined; // longer than a string may be
  }
}

export class JsonSplitter {
  private readonly onHead: HeadListener | undefined;
  private out: JsonPiece[] = [];
  private failed = false;
  /** Bytes not yet given out, and the stream offset of buf[0]; `pos` is the scan position (absolute). */
  private buf: Uint8Array = new Uint8Array(0);
  private bufBase = 0;
  private pos = 0;
  private line = 1;
  private readonly stack: number[] = [];
  private readonly openedAt: number[] = [];
  private inString = false;
  private stringStart = 0;
  private stringLine = 0;
  private inScalar = false;
  private document = -1;
  /** Start of the document's bytes still to be kept (-1 while its items are read), and its line. */
  private docStart = -1;
  private docLine = 0;
  private docOffset = 0;
  private readonly headParts: Uint8Array[] = [];
  private inItems = false;
  private hadItems = false;
  private itemStart = -1;
  /** The item's bytes before `itemKeep` were copied to `itemBytes` (see compact), cut values written empty. */
  private itemKeep = -1;
  private itemBytes = new Uint8Array(1 << 16);
  private itemLength = 0;
  /** Unread values: what is read below each open value of an item (by stack depth), per kind. */
  private readonly fieldsFor: ((kind: string) => Fields) | undefined;
  private readonly fast: boolean;
  private readonly kindNodes = new Map<string, ReadNode>();
  private lastKind: { readonly bytes: Uint8Array; readonly node: ReadNode } | undefined;
  private readonly nodes: ReadNode[] = [];
  /** What is read of the value after the key just read, and whether that key is the item's `kind`. */
  private valueNode: ReadNode = ALL;
  private kindNext = false;
  /** The fast path's stacks (see fastItem). */
  private readonly fastNodes: ReadNode[] = [];
  private readonly fastHashes: number[] = [];
  private fastCuts = new Int32Array(256);
  /** After a value was cut out: where the scan goes on (absolute), else -1. */
  private resume = -1;
  private itemLine = 0;
  private itemIndex = 0;
  /** Depth-1 object keys: the last string read there, whether `:` followed, and whose value is read. */
  private lastString = '';
  private colonSeen = false;
  private valueOf: string | undefined;
  /**
   * Key hashes of the open objects, innermost last: an object's keys are contiguous from
   * `keysFrom[depth]`, because a nested object's keys are dropped when it closes. Objects with many
   * keys move theirs to a Set (`keySets[depth]`).
   */
  private readonly keys: number[] = [];
  private readonly keysFrom: number[] = [];
  private readonly keySets: (Set<number> | undefined)[] = [];
  /** The next string of the innermost object is a key (after `{` or `,`), and the open string is one. */
  private expectKey = false;
  private stringIsKey = false;
  private docSuspect = false;
  private itemSuspect = false;

  constructor(onHead?: HeadListener, options: SplitOptions = {}) {
    this.onHead = onHead;
    this.fieldsFor = options.fieldsFor;
    this.fast = options.fast ?? true;
  }

  /** Scans one chunk; returns the pieces it completed. */
  push(chunk: Uint8Array): JsonPiece[] {
    if (this.failed) return [];
    if (this.buf.length === 0) {
      this.buf = chunk;
      this.bufBase = this.pos;
    } else {
      const joined = new Uint8Array(this.buf.length + chunk.length);
      joined.set(this.buf, 0);
      joined.set(chunk, this.buf.length);
      this.buf = joined;
    }
    this.scan();
    this.compact();
    return this.drain();
  }

  /** After the last chunk: ends a trailing scalar and reports what is still open, where it opened. */
  end(): JsonPiece[] {
    if (this.failed) return this.drain();
    if (this.inScalar) this.endScalar(this.pos);
    if (this.inString) {
      this.fail(
        `JSON syntax error: the string opened on line ${this.stringLine} is never closed`,
        this.stringLine,
      );
    } else if (this.stack.length > 0) {
      const open = this.stack[this.stack.length - 1] === OPEN_OBJECT ? '{' : '[';
      const at = this.openedAt[this.openedAt.length - 1] ?? this.line;
      this.fail(`JSON syntax error: the "${open}" opened on line ${at} is never closed`, at);
    }
    return this.drain();
  }

  private drain(): JsonPiece[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private bytes(from: number, to: number): Uint8Array {
    return this.buf.subarray(from - this.bufBase, to - this.bufBase);
  }

  /**
   * Moves what the open document or item has read so far out of the buffer, and drops the bytes no
   * open piece needs: the buffer stays about one chunk long, however large a piece is (joining each
   * new chunk to a growing buffer would copy a large document once per chunk).
   */
  private compact(): void {
    const upto = this.inString ? Math.min(this.pos, this.stringStart) : this.pos;
    if (this.docStart >= 0 && upto > this.docStart) {
      this.headParts.push(this.bytes(this.docStart, upto).slice());
      this.docStart = upto;
    }
    if (this.itemStart >= 0 && upto > this.itemKeep) {
      this.appendItem(this.bytes(this.itemKeep, upto));
      this.itemKeep = upto;
    }
    let keep = upto;
    if (this.docStart >= 0) keep = Math.min(keep, this.docStart);
    if (this.itemStart >= 0) keep = Math.min(keep, this.itemKeep);
    const drop = keep - this.bufBase;
    if (drop <= 0) return;
    // Copy the rest so the chunk it came from can be freed.
    this.buf = drop >= this.buf.length ? new Uint8Array(0) : this.buf.slice(drop);
    this.bufBase = keep;
  }

  private scan(): void {
    const buf = this.buf;
    const base = this.bufBase;
    const n = buf.length;
    let i = this.pos - base;
    let line = this.line;
    while (i < n && !this.failed) {
      if (this.inString) {
        // Most bytes are in strings: run to the next quote, then count the backslashes before it.
        while (i < n && buf[i] !== QUOTE) i++;
        if (i >= n) break;
        const q = i;
        let k = q - 1;
        const first = this.stringStart - base;
        while (k > first && buf[k] === BACKSLASH) k--;
        i = q + 1;
        if ((q - 1 - k) % 2 === 1) continue;
        this.inString = false;
        this.pos = base + i;
        this.line = line;
        this.afterString(this.stringStart, base + i);
        continue;
      }
      if (this.stack.length > 0 && !(this.inItems && this.itemStart < 0 && this.stack.length === 2)) {
        // Inside a value: numbers, literals and spaces only matter by their newlines.
        let c = CLASS[buf[i] as number];
        while (c !== STRUCTURAL) {
          if (c === LINE) line++;
          if (++i >= n) break;
          c = CLASS[buf[i] as number];
        }
        if (i >= n) break;
      }
      const b = buf[i] as number;
      if (b === NEWLINE) line++;
      if (this.inScalar) {
        if (CLASS[b] !== STRUCTURAL && CLASS[b] !== SPACE_CLASS && b !== NEWLINE) {
          i++;
          continue;
        }
        this.line = line;
        this.endScalar(base + i);
      }
      if (b === SPACE || b === NEWLINE || b === TAB || b === RETURN) {
        i++;
        continue;
      }
      this.pos = base + i;
      this.line = line;
      this.token(b, base + i);
      if (this.resume >= 0) {
        // A value was cut out: go on after it.
        i = this.resume - base;
        this.resume = -1;
        line = this.line;
        continue;
      }
      i++;
    }
    this.line = line;
    this.pos = base + Math.min(i, n);
  }

  private token(b: number, at: number): void {
    const depth = this.stack.length;
    if (depth === 0) {
      if (b === CLOSE_OBJECT || b === CLOSE_ARRAY || b === COMMA || b === COLON) {
        this.fail(`JSON syntax error: unexpected "${String.fromCharCode(b)}" between documents`, this.line);
        return;
      }
      this.startDocument(at);
    } else if (this.inItems && depth === 2 && this.itemStart < 0 && b !== COMMA && b !== CLOSE_ARRAY) {
      this.itemStart = at;
      this.itemKeep = at;
      this.itemLength = 0;
      this.itemLine = this.line;
      this.itemSuspect = false;
      if (b === OPEN_OBJECT && this.fast && this.fieldsFor !== undefined && this.fastItem(at)) return;
    }
    const topObject = this.stack[0] === OPEN_OBJECT;
    switch (b) {
      case QUOTE:
        this.inString = true;
        this.stringStart = at;
        this.stringLine = this.line;
        this.stringIsKey = this.expectKey && this.stack[depth - 1] === OPEN_OBJECT;
        if (
          this.valueNode === SKIP &&
          !this.expectKey &&
          depth >= 3 &&
          this.itemStart >= 0 &&
          this.stack[depth - 1] === OPEN_OBJECT &&
          this.cutString(at)
        )
          return;
        if (depth === 1 && topObject && this.colonSeen) this.valueOf = this.lastString;
        return;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (b === OPEN_ARRAY && depth === 1 && topObject && this.colonSeen && this.lastString === 'items') {
          // The document keeps its bytes up to `[`; the items become pieces; `]` goes back to it.
          this.headParts.push(this.bytes(this.docStart, at + 1).slice());
          this.docStart = -1;
          this.inItems = true;
          this.hadItems = true;
          this.itemIndex = 0;
        }
        if (this.fieldsFor !== undefined && this.itemStart >= 0 && depth >= 2) {
          let node: ReadNode = b === OPEN_OBJECT ? PENDING : ALL; // the item itself
          if (depth >= 3) {
            node = this.stack[depth - 1] === OPEN_OBJECT ? this.valueNode : (this.nodes[depth] ?? ALL);
            if (node === SKIP && this.cut(b, at)) return;
            if (node === SKIP || node === PENDING) node = ALL; // kept whole: JSON.parse reads it
          }
          this.nodes[depth + 1] = node;
        }
        this.stack.push(b);
        this.openedAt.push(this.line);
        this.expectKey = b === OPEN_OBJECT;
        if (this.expectKey) {
          this.keysFrom[depth + 1] = this.keys.length;
          this.keySets[depth + 1] = undefined;
        }
        return;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY: {
        const open = this.stack.pop();
        this.openedAt.pop();
        this.expectKey = false;
        if (open === OPEN_OBJECT) {
          this.keys.length = this.keysFrom[depth] ?? 0;
          this.keySets[depth] = undefined;
        }
        if ((open === OPEN_OBJECT) !== (b === CLOSE_OBJECT)) {
          this.fail(
            `JSON syntax error: unexpected "${String.fromCharCode(b)}" on line ${this.line}`,
            this.line,
          );
          return;
        }
        const d = this.stack.length;
        if (this.inItems && d === 1) {
          if (this.itemStart >= 0) this.endItem(at); // a scalar last item: `[1, 2]`
          this.inItems = false;
          this.docStart = at;
        } else if (this.inItems && d === 2 && this.itemStart >= 0) this.endItem(at + 1);
        if (d === 0) this.endDocument(at + 1);
        return;
      }
      case COMMA:
        this.expectKey = this.stack[depth - 1] === OPEN_OBJECT;
        if (this.inItems && depth === 2 && this.itemStart >= 0) this.endItem(at);
        if (depth === 1) {
          this.colonSeen = false;
          this.valueOf = undefined;
        }
        return;
      case COLON:
        this.expectKey = false;
        if (depth === 1) this.colonSeen = true;
        return;
      default:
        if (depth === 0) this.inScalar = true;
        return;
    }
  }

  /** A string closed: at depth 1 of an object it is a key or a value (`kind` is reported). */
  private afterString(start: number, end: number): void {
    const depth = this.stack.length;
    if (this.stringIsKey) {
      const h = hashKey(this.buf, start + 1 - this.bufBase, end - 1 - this.bufBase);
      this.noteKey(h, depth);
      if (this.fieldsFor !== undefined && this.itemStart >= 0 && depth >= 3) this.readKey(h, depth);
    } else if (this.kindNext && depth === 3 && this.itemStart >= 0) this.readKind(start, end);
    if (depth === 0) {
      this.endDocument(end);
      return;
    }
    if (depth === 2 && this.inItems && this.itemStart === start) {
      this.endItem(end);
      return;
    }
    if (depth !== 1 || this.stack[0] !== OPEN_OBJECT) return;
    const text = end - start <= MAX_KEY_BYTES ? decode([this.bytes(start, end)]) : undefined;
    let value: unknown;
    try {
      value = text === undefined ? undefined : JSON.parse(text);
    } catch {
      value = undefined; // a bad escape: JSON.parse of the document reports it
    }
    const s = typeof value === 'string' ? value : '';
    if (this.colonSeen) {
      if ((this.valueOf === 'kind' || this.valueOf === 'apiVersion') && this.onHead)
        this.onHead(this.document, this.valueOf, s);
      this.valueOf = undefined;
    } else this.lastString = s;
  }

  /** What is read of the value of the key (hash `h`) just read in the item's object at `depth`. */
  private readKey(h: number | undefined, depth: number): void {
    const node = this.nodes[depth] ?? ALL;
    this.kindNext = false;
    if (node === PENDING) {
      // The item's top before its kind: keep what comes, until the kind says what is read.
      this.valueNode = ALL;
      this.kindNext = h === KIND_HASH;
    } else if (typeof node === 'number' || h === undefined) this.valueNode = ALL;
    else this.valueNode = node.get(h) ?? SKIP;
  }

  /** The item's kind (the string from `start` to `end`) decides what is read of its fields. */
  private readKind(start: number, end: number): void {
    this.kindNext = false;
    const node = this.kindNode(start, end); // undefined: not a string (JSON.parse reports a bad one)
    if (node !== undefined) this.nodes[3] = node;
  }

  /**
   * Cuts out the value opening with `b` at `at` when it is certainly valid JSON and whole in the
   * buffer: the item keeps `{}` or `[]` with the value's newlines.
   */
  private cut(b: number, at: number): boolean {
    const end = skipJsonValue(this.buf, at - this.bufBase, this.buf.length);
    if (end < 0) return false;
    const lines = skipped.lines;
    this.appendItem(this.bytes(this.itemKeep, at));
    const empty = new Uint8Array(lines + 2);
    empty[0] = b;
    empty.fill(NEWLINE, 1, lines + 1);
    empty[lines + 1] = b === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
    this.appendItem(empty);
    this.itemKeep = this.bufBase + end;
    this.line += lines;
    this.resume = this.bufBase + end;
    this.expectKey = false;
    this.valueNode = ALL;
    return true;
  }

  /**
   * The item opening at `at`, read in one tight pass when it is whole in the buffer and valid JSON
   * (with the cuts, key hashes and lines the scan above would give); false, having changed
   * nothing, otherwise: then the scan above reads it (and JSON.parse reports what is wrong).
   */
  private fastItem(at: number): boolean {
    const buf = this.buf;
    const base = this.bufBase;
    const n = buf.length;
    const types = FAST_TYPES;
    const nodes = this.fastNodes;
    const keysFrom = FAST_KEYS_FROM;
    const hashes = this.fastHashes;
    let keyCount = 0;
    let cutCount = 0;
    let cuts = this.fastCuts;
    let i = at - base;
    let depth = 0;
    let lines = 0;
    let suspect = false;
    let state = F_VALUE;
    let valueNode: ReadNode = ALL;
    let kindNext = false;
    // The comma before the current key (-1 for an object's first key) and the lines before it: an
    // unread value after a comma is dropped from that comma on, key and all, so that JSON.parse
    // builds no property for it (a pod from kubectl has some twenty such fields).
    let comma = -1;
    let commaLines = 0;
    let keyComma = -1;
    let keyCommaLines = 0;
    while (i < n) {
      let b = buf[i] as number;
      if (b <= 0x20) {
        for (;;) {
          if (b === NEWLINE) lines++;
          else if (b !== SPACE) break;
          while (
            i + 4 < n &&
            buf[i + 1] === SPACE &&
            buf[i + 2] === SPACE &&
            buf[i + 3] === SPACE &&
            buf[i + 4] === SPACE
          )
            i += 4;
          if (++i >= n) return false;
          b = buf[i] as number;
        }
        if (b === TAB || b === RETURN) {
          i++;
          continue;
        }
        if (b < 0x20) return false;
      }
      let cut = 0;
      let end = -1;
      switch (state) {
        case F_VALUE:
        case F_VALUE_OR_CLOSE: {
          if (b === CLOSE_ARRAY && state === F_VALUE_OR_CLOSE) break;
          const inObject = depth > 0 && types[depth - 1] === OPEN_OBJECT;
          const node: ReadNode =
            depth === 0 ? PENDING : inObject ? valueNode : (nodes[depth - 1] as ReadNode);
          if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
            if (node === SKIP) {
              end = skipJsonValue(buf, i, n);
              if (end < 0) return false;
              cut = b;
              lines += skipped.lines;
            } else {
              if (depth >= FAST_DEPTH) return false;
              types[depth] = b;
              nodes[depth] = depth === 0 ? node : node === PENDING ? ALL : node;
              keysFrom[depth] = keyCount;
              depth++;
              state = b === OPEN_OBJECT ? F_KEY_OR_CLOSE : F_VALUE_OR_CLOSE;
              i++;
              continue;
            }
          } else if (b === QUOTE) {
            end = stringEnd(buf, i, n);
            if (end < 0) return false;
            if (inObject && node === SKIP) cut = QUOTE;
            else if (kindNext && depth === 1) {
              const kind = this.kindNode(base + i, base + end);
              if (kind !== undefined) nodes[0] = kind;
            }
          } else if (b === MINUS || (b >= ZERO && b <= NINE)) end = numberEnd(buf, i, n);
          else if (b === LOWER_T) end = literalEnd(buf, i, n, TRUE);
          else if (b === LOWER_F) end = literalEnd(buf, i, n, FALSE);
          else if (b === LOWER_N) end = literalEnd(buf, i, n, NULL);
          if (end < 0) return false;
          kindNext = false;
          if (cut !== 0) {
            if (cutCount * 4 + 4 > cuts.length) {
              const grown = new Int32Array(cuts.length * 2);
              grown.set(cuts);
              cuts = grown;
              this.fastCuts = grown;
            }
            // Cuts are only of values in objects (SKIP is a key's node): keyComma is this key's.
            const drop = keyComma >= 0;
            cuts[cutCount * 4] = drop ? keyComma : i;
            cuts[cutCount * 4 + 1] = end;
            cuts[cutCount * 4 + 2] = drop ? DROP : cut;
            cuts[cutCount * 4 + 3] = drop ? lines - keyCommaLines : cut === QUOTE ? 0 : skipped.lines;
            cutCount++;
          }
          i = end;
          state = F_AFTER;
          continue;
        }
        case F_KEY_OR_CLOSE:
        case F_KEY: {
          if (b === CLOSE_OBJECT && state === F_KEY_OR_CLOSE) break;
          if (b !== QUOTE) return false;
          end = stringEnd(buf, i, n);
          if (end < 0) return false;
          keyComma = state === F_KEY ? comma : -1;
          keyCommaLines = commaLines;
          const h = hashKey(buf, i + 1, end - 1);
          const from = keysFrom[depth - 1] as number;
          if (h === undefined) suspect = true;
          else {
            for (let k = from; k < keyCount; k++) if (hashes[k] === h) suspect = true;
            if (keyCount - from >= FAST_KEYS) return false; // many keys: the scan above uses a Set
            hashes[keyCount++] = h;
          }
          const node = nodes[depth - 1] as ReadNode;
          kindNext = false;
          if (node === PENDING) {
            valueNode = ALL;
            kindNext = depth === 1 && h === KIND_HASH;
          } else if (typeof node === 'number' || h === undefined) valueNode = ALL;
          else valueNode = node.get(h) ?? SKIP;
          i = end;
          state = F_COLON;
          continue;
        }
        case F_COLON:
          if (b !== COLON) return false;
          state = F_VALUE;
          i++;
          continue;
        default:
          if (b === COMMA) {
            state = types[depth - 1] === OPEN_OBJECT ? F_KEY : F_VALUE;
            comma = i;
            commaLines = lines;
            i++;
            continue;
          }
          if (b !== CLOSE_OBJECT && b !== CLOSE_ARRAY) return false;
          break;
      }
      // A closing bracket.
      const open = types[depth - 1];
      if ((open === OPEN_OBJECT) !== (b === CLOSE_OBJECT)) return false;
      depth--;
      if (open === OPEN_OBJECT) keyCount = keysFrom[depth] as number;
      i++;
      if (depth === 0) {
        // The whole item is valid: keep it with its cuts.
        let keep = at;
        for (let c = 0; c < cutCount; c++) {
          const from = base + (cuts[c * 4] as number);
          this.appendItem(this.bytes(keep, from));
          const type = cuts[c * 4 + 2] as number;
          if (type === QUOTE) this.appendItem(ZERO_TEXT);
          else if (type === DROP) {
            const k = cuts[c * 4 + 3] as number;
            if (k > 0) this.appendItem(new Uint8Array(k).fill(NEWLINE));
          } else {
            const k = cuts[c * 4 + 3] as number;
            const empty = new Uint8Array(k + 2);
            empty[0] = type;
            empty.fill(NEWLINE, 1, k + 1);
            empty[k + 1] = type === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
            this.appendItem(empty);
          }
          keep = base + (cuts[c * 4 + 1] as number);
        }
        this.itemKeep = keep;
        this.itemSuspect = suspect;
        this.line += lines;
        this.expectKey = false;
        this.resume = base + i;
        this.endItem(base + i);
        return true;
      }
      state = F_AFTER;
    }
    return false;
  }

  /** What is read of an item whose kind is the string from `start` to `end`, if it is one. */
  private kindNode(start: number, end: number): ReadNode | undefined {
    const fieldsFor = this.fieldsFor;
    if (fieldsFor === undefined || end - start > MAX_KEY_BYTES) return undefined;
    // Most items repeat the kind before them: compare its bytes before decoding them.
    const last = this.lastKind;
    const from = start - this.bufBase;
    if (last !== undefined && last.bytes.length === end - start) {
      let same = true;
      for (let k = 0; k < last.bytes.length; k++)
        if (last.bytes[k] !== this.buf[from + k]) {
          same = false;
          break;
        }
      if (same) return last.node;
    }
    const node = this.decodeKind(start, end, fieldsFor);
    if (node !== undefined) this.lastKind = { bytes: this.bytes(start, end).slice(), node };
    return node;
  }

  private decodeKind(start: number, end: number, fieldsFor: (kind: string) => Fields): ReadNode | undefined {
    let kind: unknown;
    try {
      kind = JSON.parse(decoder.decode(this.bytes(start, end)));
    } catch {
      return undefined;
    }
    if (typeof kind !== 'string') return undefined;
    let node = this.kindNodes.get(kind);
    if (node === undefined) {
      node = compileFields(fieldsFor(kind));
      if (this.kindNodes.size < 64) this.kindNodes.set(kind, node);
    }
    return node;
  }

  /** Cuts out the string value opening at `at` when it is valid and whole in the buffer: `0` instead. */
  private cutString(at: number): boolean {
    const end = stringEnd(this.buf, at - this.bufBase, this.buf.length);
    if (end < 0) return false;
    this.inString = false;
    this.appendItem(this.bytes(this.itemKeep, at));
    this.appendItem(ZERO_TEXT);
    this.itemKeep = this.bufBase + end;
    this.resume = this.bufBase + end;
    this.valueNode = ALL;
    return true;
  }

  private appendItem(bytes: Uint8Array): void {
    const need = this.itemLength + bytes.length;
    if (need > this.itemBytes.length) {
      const grown = new Uint8Array(Math.max(need, this.itemBytes.length * 2));
      grown.set(this.itemBytes.subarray(0, this.itemLength));
      this.itemBytes = grown;
    }
    this.itemBytes.set(bytes, this.itemLength);
    this.itemLength = need;
  }

  /** Records a key (hash `h`, undefined when it holds an escape) of the innermost object; marks the piece if it may repeat. */
  private noteKey(h: number | undefined, depth: number): void {
    if (h === undefined) {
      this.suspect();
      return;
    }
    const set = this.keySets[depth];
    if (set !== undefined) {
      if (set.has(h)) this.suspect();
      else set.add(h);
      return;
    }
    const keys = this.keys;
    const first = this.keysFrom[depth] ?? 0;
    for (let k = first; k < keys.length; k++) {
      if (keys[k] === h) {
        this.suspect();
        return;
      }
    }
    if (keys.length - first < LINEAR_KEYS) {
      keys.push(h);
      return;
    }
    const moved = new Set(keys.slice(first));
    moved.add(h);
    keys.length = first;
    this.keySets[depth] = moved;
  }

  private suspect(): void {
    if (this.itemStart >= 0) this.itemSuspect = true;
    else this.docSuspect = true;
  }

  private startDocument(at: number): void {
    this.document++;
    this.docStart = at;
    this.docOffset = at;
    this.docLine = this.line;
    this.headParts.length = 0;
    this.hadItems = false;
    this.inItems = false;
    this.docSuspect = false;
    this.lastString = '';
    this.colonSeen = false;
    this.valueOf = undefined;
  }

  private endScalar(end: number): void {
    this.inScalar = false;
    this.endDocument(end);
  }

  private endDocument(end: number): void {
    const text = decode([...this.headParts, this.bytes(this.docStart, end)]);
    this.headParts.length = 0;
    this.docStart = -1;
    if (text === undefined) {
      this.fail('this JSON document is too large to read as one value; make it a List', this.docLine);
      return;
    }
    this.out.push({
      type: 'document',
      document: this.document,
      text,
      line: this.docLine,
      offset: this.docOffset,
      bytes: end - this.docOffset,
      hadItems: this.hadItems,
      suspectKeys: this.docSuspect,
    });
  }

  private endItem(end: number): void {
    const start = this.itemStart;
    this.itemStart = -1;
    const index = this.itemIndex++;
    this.appendItem(this.bytes(this.itemKeep, end));
    const text = decodeOne(this.itemBytes.subarray(0, this.itemLength));
    this.itemLength = 0;
    if (this.itemBytes.length > 1 << 22) this.itemBytes = new Uint8Array(1 << 16);
    if (text === undefined) {
      this.out.push({
        type: 'error',
        document: this.document,
        line: this.itemLine,
        message: `item ${index} is too large to read`,
      });
      return;
    }
    this.out.push({
      type: 'item',
      document: this.document,
      index,
      text,
      line: this.itemLine,
      offset: start,
      bytes: end - start,
      suspectKeys: this.itemSuspect,
    });
  }

  private fail(message: string, line: number): void {
    this.out.push({ type: 'error', document: Math.max(this.document, 0), line, message });
    // After a structural error nothing later in the stream can be placed: stop reading it.
    this.failed = true;
    this.buf = new Uint8Array(0);
  }
}
