// Splits a JSON byte stream into pieces small enough for JSON.parse, without ever holding the whole
// text: a List of 200k objects is larger than the longest string V8 can make, and one JSON.parse of
// it would keep every object alive at once. This scanner only finds boundaries (strings, brackets,
// lines); JSON.parse, native and fast, reads each piece and reports its syntax errors.
//
// Pieces: every top-level value is a document (concatenated JSON documents are read one by one, as
// kubectl does); each element of a top-level object's `items` array is an item of its own, and the
// document's text then has `"items": []` in their place.
//
// Duplicate keys: JSON.parse keeps the last of them silently, where the API server reports them. The
// scan already stops at every key, so it also keeps a 32-bit hash of each object's keys; a piece
// where two keys of one object hash alike (or a key holds an escape, whose meaning the bytes do not
// show) is marked `suspectKeys`, and only such pieces are searched exactly (json-duplicates.ts).

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

/** Longest key or kind value decoded for the checks below; longer ones are neither `items` nor a kind. */
const MAX_KEY_BYTES = 256;

const decoder = new TextDecoder('utf-8');

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
  /** The item's bytes before `itemKeep` were moved to `itemParts` (see compact). */
  private itemKeep = -1;
  private readonly itemParts: Uint8Array[] = [];
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

  constructor(onHead?: HeadListener) {
    this.onHead = onHead;
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
      this.itemParts.push(this.bytes(this.itemKeep, upto).slice());
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
      this.itemParts.length = 0;
      this.itemLine = this.line;
      this.itemSuspect = false;
    }
    const topObject = this.stack[0] === OPEN_OBJECT;
    switch (b) {
      case QUOTE:
        this.inString = true;
        this.stringStart = at;
        this.stringLine = this.line;
        this.stringIsKey = this.expectKey && this.stack[depth - 1] === OPEN_OBJECT;
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
    if (this.stringIsKey) this.noteKey(start + 1, end - 1, depth);
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

  /** Records a key of the innermost object (bytes `from` to `to`); marks the piece if it may repeat. */
  private noteKey(from: number, to: number, depth: number): void {
    const h = hashKey(this.buf, from - this.bufBase, to - this.bufBase);
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
    const text = decode([...this.itemParts, this.bytes(this.itemKeep, end)]);
    this.itemParts.length = 0;
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
