// A syntax check of the lines the skim blanks (yaml-skim.ts): the YAML library never sees them, but
// kubectl and the API server read the whole document and reject it when they are malformed. This
// is not a YAML parser: it follows quotes, flow brackets, block scalars and plain scalars that go
// on below their line, and finds the errors that are certain (each was checked against the YAML
// library, which reports them too):
//  - a quoted value or a flow collection never closed (named at the line where it opened),
//  - a closing bracket that closes nothing,
//  - text after a closing quote or bracket (`"a" b`, `[1]]`),
//  - a second `key: ` on one line (`value: a: b`),
//  - a plain value starting with `@` or a backtick.
// Anything it does not follow (indentation of keys, aliases, tags) it lets through, as the skim
// always did. One pass, constant work per character.

export interface RegionProblem {
  /** 0-based line in the skimmed text. */
  readonly line: number;
  readonly message: string;
}

/** A key and its `:` (plain keys may hold `:` and `#` not next to a space, as YAML allows). */
const KEY =
  /(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|(?:[^\s#'"{[\]},&*!|>%@`?:-]|[?:-](?=\S))(?:[^:#]|:(?=\S)|(?<=\S)#)*?)[ \t]*:(?:[ \t]+|$)/y;
const HASH = 0x23;
const DASH = 0x2d;
const COLON = 0x3a;
const QUESTION = 0x3f;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09;
}

/** The first index at or after `i` that is not a space or tab. */
function skipSpaces(text: string, i: number): number {
  let k = i;
  while (k < text.length && isSpace(text.charCodeAt(k))) k++;
  return k;
}

/** Whether a token ends before `i` (the line ends there, or a space follows). */
function endsToken(text: string, i: number): boolean {
  return i >= text.length || isSpace(text.charCodeAt(i));
}

export class RegionCheck {
  private problemFound: RegionProblem | undefined;
  /** An open quoted scalar: its quote and line. */
  private quote: '"' | "'" | undefined;
  private quoteLine = 0;
  /** Open flow brackets, and the line of the outermost. */
  private depth = 0;
  private flowLine = 0;
  /** Inside a flow, at the start of an entry (where a quote opens a quoted scalar). */
  private entryStart = false;
  /** Inside a flow, right after a quoted scalar or a nested collection (a key `:` may follow at once). */
  private jsonKey = false;
  /** Lines deeper than this are a block scalar's text, or a plain scalar's next lines (-1: none). */
  private literalAbove = -1;

  get problem(): RegionProblem | undefined {
    return this.problemFound;
  }

  /** The value written on the key line that starts the region (`key: <value>`), the key at `col`. */
  value(text: string, col: number, n: number): void {
    this.literalAbove = -1;
    this.readValue(text, 0, col, n);
  }

  /** One line of the region, whole. Index-based: it runs on every line blanked, 10 MB and more. */
  line(text: string, n: number): void {
    if (this.problemFound !== undefined) return;
    let i = skipSpaces(text, 0);
    if (i === text.length) return;
    const ind = i;
    if (this.quote !== undefined || this.depth > 0) {
      this.scan(text, i, n);
      return;
    }
    if (this.literalAbove >= 0 && ind > this.literalAbove) return;
    this.literalAbove = -1;
    if (text.charCodeAt(i) === HASH) return;
    // `- - key: value`: the key's column, and the column of what holds a value without a key.
    let holder = ind;
    while (text.charCodeAt(i) === DASH && endsToken(text, i + 1)) {
      holder = i;
      i = skipSpaces(text, i + 1);
    }
    const col = i;
    const c = text.charCodeAt(i);
    // `: value` and `? key` (an empty or explicit key): what follows is read as a value.
    if ((c === COLON || c === QUESTION) && endsToken(text, i + 1)) {
      this.readValue(text, i + 1, col, n);
      return;
    }
    KEY.lastIndex = i;
    if (KEY.test(text)) this.readValue(text, KEY.lastIndex, col, n);
    else this.readValue(text, i, holder, n);
  }

  /** After the region's last line: what is still open is never closed. */
  end(): void {
    if (this.problemFound !== undefined) return;
    if (this.quote !== undefined)
      this.fail(
        this.quoteLine,
        `the ${this.quote === '"' ? 'double' : 'single'}-quoted value opened on this line is never closed`,
      );
    else if (this.depth > 0)
      this.fail(this.flowLine, 'the flow collection ("[" or "{") opened on this line is never closed');
    this.quote = undefined;
    this.depth = 0;
    this.literalAbove = -1;
  }

  private fail(line: number, message: string): void {
    this.problemFound ??= { line, message };
  }

  /** A value from `from` in `text`, after `key:` or `- ` (the key or dash at `col`). */
  private readValue(text: string, from: number, col: number, n: number): void {
    const i = skipSpaces(text, from);
    if (i === text.length) return;
    const c = text[i];
    if (c === '#') return;
    if (c === '"' || c === "'" || c === '[' || c === '{') {
      this.scan(text, i, n);
      return;
    }
    if (c === '|' || c === '>') {
      this.literalAbove = col;
      return;
    }
    if (c === '@' || c === '`') {
      this.fail(n, `a plain value cannot start with "${c}" (quote it)`);
      return;
    }
    if (c === '*' || c === '&' || c === '!') return; // aliases, anchors and tags: not followed
    // A plain scalar: up to ` #` it holds no `: ` (that would be a second key on the line).
    for (let k = i + 1; k < text.length; k++) {
      const b = text.charCodeAt(k);
      if (b === HASH && isSpace(text.charCodeAt(k - 1))) break;
      if (b === COLON && endsToken(text, k + 1)) {
        this.fail(n, 'a second "key:" on one line (a value holding ": " must be quoted)');
        return;
      }
    }
    this.literalAbove = col;
  }

  /** Follows quotes and brackets from `i` in `text` (a line's content), across lines. */
  private scan(text: string, from: number, n: number): void {
    let i = from;
    while (i < text.length) {
      if (this.quote !== undefined) {
        const close = this.closeQuote(text, i);
        if (close < 0) return; // still open on the next line
        this.quote = undefined;
        i = close;
        if (this.depth === 0) {
          this.after(text, i, n);
          return;
        }
        this.entryStart = false;
        this.jsonKey = true;
        continue;
      }
      const c = text[i] as string;
      if (this.depth === 0) {
        // Outside any flow: only a value's first character opens something.
        if (c === '"' || c === "'") this.openQuote(c, n);
        else if (c === '[' || c === '{') this.open(n);
        i++;
        continue;
      }
      if (c === '#' && (i === 0 || /[ \t]/.test(text[i - 1] as string))) return; // a comment
      if ((c === '"' || c === "'") && this.entryStart) this.openQuote(c, n);
      else if (c === '[' || c === '{') this.open(n);
      else if (c === ']' || c === '}') {
        this.depth--;
        if (this.depth === 0) {
          this.after(text, i + 1, n);
          return;
        }
        this.jsonKey = true;
        i++;
        continue;
      } else if (c === ',') this.entryStart = true;
      else if (c === ':') {
        // `: ` starts a value, and so does `:` right after a quoted key (`{"a":"b"}`); `:x` is plain text.
        const next = text[i + 1];
        this.entryStart = this.jsonKey || next === undefined || next === ' ' || next === '\t';
      } else if (c !== ' ' && c !== '\t') this.entryStart = false;
      if (c !== ' ' && c !== '\t') this.jsonKey = false;
      i++;
    }
    if (this.depth > 0) this.entryStart = true; // a new line starts with spaces
  }

  private openQuote(q: '"' | "'", n: number): void {
    this.quote = q;
    this.quoteLine = n;
  }

  private open(n: number): void {
    if (this.depth === 0) this.flowLine = n;
    this.depth++;
    this.entryStart = true;
    this.jsonKey = false;
  }

  /** The index after the closing quote at or after `i`, or -1. */
  private closeQuote(text: string, i: number): number {
    if (this.quote === '"') {
      for (let k = i; k < text.length; k++) {
        if (text[k] === '\\') k++;
        else if (text[k] === '"') return k + 1;
      }
      return -1;
    }
    for (let k = i; k < text.length; k++) {
      if (text[k] !== "'") continue;
      if (text[k + 1] === "'") k++;
      else return k + 1;
    }
    return -1;
  }

  /** What follows a closed quoted value or flow collection (from `from`) on its line: only a comment. */
  private after(text: string, from: number, n: number): void {
    const k = skipSpaces(text, from);
    // `[1]: 2` makes the collection a key, which the library accepts: not followed here.
    if (k === text.length || text[k] === '#' || (text[k] === ':' && endsToken(text, k + 1))) return;
    const extra = text[k];
    this.fail(
      n,
      extra === ']' || extra === '}'
        ? `"${extra}" closes nothing`
        : 'text after the end of a quoted value or flow collection',
    );
  }
}
