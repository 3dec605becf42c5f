// A strict JSON validator for one object or array held whole in a byte buffer, used by the List
// splitter (json-split.ts) to step over the values of fields netaudit never reads (managedFields,
// status conditions, env, volumes: most of the bytes of a pod as the API server gives it) without
// JSON.parse materialising them. It answers only "certainly valid JSON, ending here" or "not sure";
// on "not sure" (a syntax error, a value running past the buffer, nesting deeper than it tracks) the
// splitter keeps the value, and JSON.parse reads it and reports any error exactly as it would have.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Bytes a string body may hold without a closer look (not `"`, `\` or a control character). */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 256; b++) PLAIN[b] = 1;
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;

/** One-letter escapes JSON allows after a backslash. */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/** Nesting tracked; deeper values are left to JSON.parse. */
const MAX_NESTING = 256;
const open = new Uint8Array(MAX_NESTING);

/** Newlines inside the last value `skipJsonValue` accepted. */
export const skipped = { lines: 0 };

/** Expect: a value; a key or `}` (after `{`); a key (after `,` in an object); `:`; `,` or a close; a value or `]`. */
const VALUE = 0;
const KEY_OR_CLOSE = 1;
const KEY = 2;
const COLON_NEXT = 3;
const AFTER = 4;
const VALUE_OR_CLOSE = 5;

/** End (after the closing quote) of the valid string whose opening quote is at `i`, or -1. */
export function stringEnd(buf: Uint8Array, i: number, n: number): number {
  i++;
  for (;;) {
    let b = 0;
    while (i < n) {
      b = buf[i] as number;
      if (b === QUOTE || b === BACKSLASH || b < 0x20) break;
      i++;
    }
    if (i >= n) return -1;
    if (b === QUOTE) return i + 1;
    if (b !== BACKSLASH) return -1; // a control character
    const e = buf[i + 1] as number;
    if (ESCAPE[e] === 1) i += 2;
    else if (e === 0x75) {
      if (i + 6 > n) return -1;
      if (
        !(
          HEX[buf[i + 2] as number] &&
          HEX[buf[i + 3] as number] &&
          HEX[buf[i + 4] as number] &&
          HEX[buf[i + 5] as number]
        )
      )
        return -1;
      i += 6;
    } else return -1;
  }
}

function digits(buf: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const b = buf[i] as number;
    if (b < ZERO || b > NINE) break;
    i++;
  }
  return i;
}

/** End of the number starting at `i` (JSON's grammar), or -1. */
export function numberEnd(buf: Uint8Array, i: number, n: number): number {
  if (buf[i] === MINUS) i++;
  if (i >= n) return -1;
  const first = buf[i] as number;
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) i = digits(buf, i + 1, n);
  else return -1;
  if (i < n && buf[i] === DOT) {
    const from = i + 1;
    i = digits(buf, from, n);
    if (i === from) return -1;
  }
  if (i < n && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < n && (buf[i] === PLUS || buf[i] === MINUS)) i++;
    const from = i;
    i = digits(buf, from, n);
    if (i === from) return -1;
  }
  // The buffer may end inside the number: the caller needs the byte after it.
  return i >= n ? -1 : i;
}

export function literalEnd(buf: Uint8Array, i: number, n: number, word: Uint8Array): number {
  if (i + word.length >= n) return -1;
  for (let k = 0; k < word.length; k++) if (buf[i + k] !== word[k]) return -1;
  return i + word.length;
}

export const TRUE = new TextEncoder().encode('true');
export const FALSE = new TextEncoder().encode('false');
export const NULL = new TextEncoder().encode('null');

/**
 * The end (after its closing bracket) of the object or array that opens at `buf[start]`, if all of
 * it up to `end` is valid JSON; -1 otherwise. Counts its newlines in `skipped.lines`.
 */
export function skipJsonValue(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let depth = 0;
  let lines = 0;
  let state = VALUE;
  while (i < end) {
    let b = buf[i] as number;
    if (b <= 0x20) {
      // Indentation: runs of spaces after a newline.
      for (;;) {
        if (b === NEWLINE) lines++;
        else if (b !== 0x20) break;
        // Indentation: four spaces at a time (half as fast byte by byte).
        while (
          i + 4 < end &&
          buf[i + 1] === 0x20 &&
          buf[i + 2] === 0x20 &&
          buf[i + 3] === 0x20 &&
          buf[i + 4] === 0x20
        )
          i += 4;
        if (++i >= end) return -1;
        b = buf[i] as number;
      }
      if (b === 0x09 || b === 0x0d) {
        i++;
        continue;
      }
      if (b < 0x20) return -1;
    }
    switch (state) {
      case VALUE:
      case VALUE_OR_CLOSE:
        if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
          if (depth >= MAX_NESTING) return -1;
          open[depth++] = b;
          state = b === OPEN_OBJECT ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
          i++;
          continue;
        }
        if (b === CLOSE_ARRAY && state === VALUE_OR_CLOSE) break; // `[]`
        if (b === QUOTE) i = stringEnd(buf, i, end);
        else if (b === MINUS || (b >= ZERO && b <= NINE)) i = numberEnd(buf, i, end);
        else if (b === 0x74) i = literalEnd(buf, i, end, TRUE);
        else if (b === 0x66) i = literalEnd(buf, i, end, FALSE);
        else if (b === 0x6e) i = literalEnd(buf, i, end, NULL);
        else return -1;
        if (i < 0) return -1;
        state = AFTER;
        continue;
      case KEY_OR_CLOSE:
      case KEY:
        if (b === QUOTE) {
          i = stringEnd(buf, i, end);
          if (i < 0) return -1;
          state = COLON_NEXT;
          continue;
        }
        if (b === CLOSE_OBJECT && state === KEY_OR_CLOSE) break; // `{}`
        return -1;
      case COLON_NEXT:
        if (b !== COLON) return -1;
        state = VALUE;
        i++;
        continue;
      default: // AFTER
        if (b === COMMA) {
          state = open[depth - 1] === OPEN_OBJECT ? KEY : VALUE;
          i++;
          continue;
        }
        if (b !== CLOSE_OBJECT && b !== CLOSE_ARRAY) return -1;
        break;
    }
    // A closing bracket: it must close what is open.
    if ((open[depth - 1] === OPEN_OBJECT) !== (b === CLOSE_OBJECT)) return -1;
    depth--;
    i++;
    if (depth === 0) {
      skipped.lines = lines;
      return i;
    }
    state = AFTER;
  }
  return -1;
}
