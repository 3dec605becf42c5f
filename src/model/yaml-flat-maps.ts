// Reads large flat maps of plain strings (a pod's 100,000 labels) without the YAML library, which
// needs tens of microseconds per line: such a map is cut out of the text (its lines blanked, its
// key given `{}`), read here line by line, and put back into the parsed value. Only maps this
// module reads exactly as kubectl does are taken: block maps of at least MIN_ENTRIES one-line
// entries whose keys and values are plain or simply quoted strings that YAML 1.1 cannot read as
// anything else, below a path of block-map keys only. Anything else, or any line it does not
// understand around them, leaves the text as it is, for the library.

/** Smaller maps cost the library little: they are left to it, so ordinary manifests never come here. */
const MIN_ENTRIES = 256;

export interface FlatMap {
  /** Keys from the document's root to the map. */
  readonly path: readonly string[];
  readonly value: Record<string, string>;
  /** 0-based line (in the text) of each key, at its first occurrence. */
  readonly lines: ReadonlyMap<string, number>;
  /** Keys written twice, with the 0-based line of the repeat. */
  readonly repeats: readonly { readonly key: string; readonly line: number }[];
}

export interface FlatMapsResult {
  readonly text: string;
  readonly maps: readonly FlatMap[];
}

/** Plain scalars YAML 1.1 reads as booleans or null (go-yaml v2, which kubectl uses). */
const NOT_STRINGS = new Set(
  'y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL'.split(
    ' ',
  ),
);

/**
 * A scalar written so that it can only be a string: plain, starting with a letter and made of label
 * characters (no number, date, boolean or null starts with a letter, the words above excepted), or
 * quoted without escapes.
 */
const SCALAR = `(?:[A-Za-z_][A-Za-z0-9_./-]*|"[^"\\\\]*"|'[^']*')`;
const ENTRY = new RegExp(`^( +)(${SCALAR}):[ ]+(${SCALAR})[ ]*$`);
/** A key whose value is on the lines below it (a block collection, or nothing). */
const PARENT = new RegExp(`^( *)(${SCALAR}):(?:[ ]+(?:#.*)?)?$`);
/** Any other `key: value` line, and whether its value may continue on later lines. */
const KEY_VALUE = new RegExp(`^( *)(${SCALAR}):[ ]+(.*)$`);

function unquote(s: string): string | undefined {
  if (s.startsWith('"') || s.startsWith("'")) return s.slice(1, -1);
  return NOT_STRINGS.has(s) || s === '__proto__' ? undefined : s;
}

/** A value that closes on its own line (a plain scalar, a quoted one, a flow collection). */
function closesOnItsLine(v: string): boolean {
  const value = v.replace(/[ \t]+#.*$/, '').trim();
  if (value === '' || value.startsWith('|') || value.startsWith('>')) return false;
  if (value.startsWith('"')) return /^"(?:[^"\\]|\\.)*"$/.test(value);
  if (value.startsWith("'")) return /^'(?:[^']|'')*'$/.test(value);
  if (value.startsWith('{') || value.startsWith('[')) {
    let depth = 0;
    for (const c of value) {
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
    return depth === 0;
  }
  return !/^[&*!]/.test(value);
}

/** A value that closes on its line, or a block scalar (whose lines are all deeper than its key). */
function staysInPlace(value: string): boolean {
  return closesOnItsLine(value) || /^[|>]/.test(value.trim());
}

/** Reads the entries below a parent line at `from`, all at one indentation; undefined if any line is not one. */
function readEntries(
  lines: readonly string[],
  from: number,
  parentIndent: number,
): { end: number; entries: { key: string; value: string; line: number }[] } | undefined {
  const entries: { key: string; value: string; line: number }[] = [];
  let indent = -1;
  let n = from;
  for (; n < lines.length; n++) {
    const line = lines[n] as string;
    const content = line.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const ind = line.length - content.length;
    if (ind <= parentIndent) break;
    const m = ENTRY.exec(line);
    if (m === null) return undefined;
    if (indent < 0) indent = ind;
    if (ind !== indent) return undefined;
    const key = unquote(m[2] as string);
    const value = unquote(m[3] as string);
    if (key === undefined || value === undefined) return undefined;
    entries.push({ key, value, line: n });
  }
  return { end: n, entries };
}

/**
 * The text with its large flat maps cut out, and the maps. A document whose structure around them
 * is not plain block mappings (sequences, multi-line values, tabs, anchors) is returned unchanged.
 */
export function extractFlatMaps(text: string): FlatMapsResult {
  const unchanged = { text, maps: [] };
  // A cheap guard first: a document with fewer non-blank lines than one such map holds none (a
  // skimmed document is mostly blank lines: splitting it would cost more than this count).
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0 && count < MIN_ENTRIES; i = text.indexOf('\n', i + 1))
    if (i + 1 < text.length && text[i + 1] !== '\n') count++;
  if (count < MIN_ENTRIES) return unchanged;
  const lines = text.split('\n');
  const maps: FlatMap[] = [];
  /** What holds the current line: keys with their indentation; `undefined` for anything else (a sequence item, a value that goes on below), under which no map is taken. */
  const stack: { indent: number; key: string | undefined }[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    const content = line.trimStart();
    if (content === '' || content.startsWith('#') || (n === 0 && content.startsWith('---'))) continue;
    const ind = line.length - content.length;
    if (line.slice(0, ind).includes('\t')) return unchanged;
    while (stack.length > 0 && (stack.at(-1) as { indent: number }).indent >= ind) stack.pop();
    const plainPath = stack.every((s) => s.key !== undefined);
    const parent = PARENT.exec(line);
    if (parent !== null) {
      const key = unquote(parent[2] as string);
      const read = plainPath && key !== undefined ? readEntries(lines, n + 1, ind) : undefined;
      if (key !== undefined && read !== undefined && read.entries.length >= MIN_ENTRIES) {
        const value: Record<string, string> = {};
        const keyLines = new Map<string, number>();
        const repeats: { key: string; line: number }[] = [];
        for (const e of read.entries) {
          if (keyLines.has(e.key)) repeats.push({ key: e.key, line: e.line });
          else keyLines.set(e.key, e.line);
          value[e.key] = e.value;
        }
        maps.push({ path: [...stack.map((s) => s.key as string), key], value, lines: keyLines, repeats });
        lines[n] = `${line.replace(/[ ]*(?:#.*)?$/, '')} {}`;
        for (let k = n + 1; k < read.end; k++) lines[k] = '';
        n = read.end - 1;
        continue;
      }
      stack.push({ indent: ind, key });
      continue;
    }
    if (content === '-' || content.startsWith('- ')) {
      // A sequence item: what it holds may not be placed either, nor go on below unclosed.
      const item = content.slice(1).trim();
      const kvItem = KEY_VALUE.exec(item);
      const value = kvItem === null ? item : (kvItem[3] as string);
      if (!(item === '' || PARENT.test(item) || staysInPlace(value))) return unchanged;
      stack.push({ indent: ind, key: undefined });
      continue;
    }
    // A `key: value` line: lines below it that are deeper continue its value (a block scalar, a
    // plain scalar on several lines). A quoted or flow value left open may go on at any
    // indentation: then nothing here can be placed, and the text is left to the library.
    const kv = KEY_VALUE.exec(line);
    if (kv === null) return unchanged;
    if (!staysInPlace(kv[3] as string)) return unchanged;
    stack.push({ indent: ind, key: undefined });
  }
  return maps.length === 0 ? unchanged : { text: lines.join('\n'), maps };
}
