// Splits one file's YAML text into documents and parses them one at a time, reporting syntax errors
// per document so that the rest of a file still loads. Documents are cut at their `---` lines
// before parsing, so an unclosed quote cannot swallow the next document; each is skimmed of the
// fields netaudit never reads (yaml-skim.ts) and parsed as kubectl's YAML reader resolves scalars.

import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type ScalarTag,
  type Tags,
  visit,
} from 'yaml';
import type { ManifestIssue } from '../errors.ts';
import { formatFieldPath, type PathSegment } from './field-path.ts';
import { extractFlatMaps, type FlatMap } from './yaml-flat-maps.ts';
import type { NodeAnchor } from './yaml-locate.ts';
import type { RegionProblem } from './yaml-region-check.ts';
import { skimChecked } from './yaml-skim.ts';

export interface ParsedDocument {
  /** 0-based position of the document in its file. */
  readonly index: number;
  readonly value: unknown;
  readonly anchor: NodeAnchor;
  /** Keys written twice (paths from the document's root); their lines are in the anchor. */
  readonly repeated?: readonly (readonly PathSegment[])[];
}

export interface DocumentsResult {
  readonly documents: ParsedDocument[];
  readonly issues: ManifestIssue[];
}

/** One document's lines, cut out of its file. */
export interface DocumentText {
  readonly text: string;
  /** 1-based line of its first line in the file. */
  readonly line: number;
}

const DOCUMENT_START = /^---(?:[ \t]|$)/;
const DIRECTIVE_OR_COMMENT = /^(?:%|#|[ \t]*$)/;

/**
 * Cuts a YAML stream at its `---` lines (at column 0 they always start a document, even inside a
 * quoted string, which the specification forbids to span them). Lines before the first `---` that
 * are only comments and directives go with the document that follows them.
 */
export function splitDocuments(text: string): DocumentText[] {
  const out: DocumentText[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  let onlyPreamble = true;
  for (let at = 0; at <= text.length; ) {
    const end = text.indexOf('\n', at);
    const stop = end < 0 ? text.length : end;
    const content = text.slice(at, stop);
    if (DOCUMENT_START.test(content) && !(onlyPreamble && out.length === 0)) {
      out.push({ text: text.slice(start, at), line: startLine });
      start = at;
      startLine = line;
    }
    if (DOCUMENT_START.test(content) && onlyPreamble && out.length === 0) onlyPreamble = false;
    else if (!DIRECTIVE_OR_COMMENT.test(content)) onlyPreamble = false;
    if (end < 0) break;
    at = end + 1;
    line++;
  }
  out.push({ text: text.slice(start), line: startLine });
  return out;
}

/**
 * YAML as kubectl reads it (go-yaml v2, YAML 1.1 scalars): `yes`/`on` are booleans, `0100` is octal,
 * and timestamps and base-60 numbers stay strings.
 */
const kubectlTags = (tags: Tags): Tags => [
  ...tags.filter((t) => {
    const tag = typeof t === 'string' ? t : t.tag;
    const format = typeof t === 'string' ? undefined : t.format;
    if (tag === FLOAT && typeof t !== 'string') return t.test?.test('.nan') === true; // .inf, .nan
    return tag !== 'tag:yaml.org,2002:timestamp' && format !== 'TIME';
  }),
  goPrefixedInt,
  goFloat,
];

const FLOAT = 'tag:yaml.org,2002:float';

/** go-yaml v2's float syntax, applied to a plain scalar after its underscores are removed. */
const GO_STYLE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/**
 * Floats as go-yaml v2 reads them, which the library's YAML 1.1 floats do not match: an exponent
 * needs a mantissa (`e4815220`, a typical pod-template-hash, is a string), and a value that
 * overflows a float64 (`1e400`) stays a string, since Go's ParseFloat refuses it.
 */
const goFloat: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: FLOAT,
  format: 'GO',
  test: /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9_]+)?$/,
  resolve: (text) => {
    // A leading dot is parsed as it is; a leading digit or sign after removing underscores.
    const plain = text.startsWith('.') ? text : text.replaceAll('_', '');
    if (!GO_STYLE_FLOAT.test(plain)) return text;
    const value = Number(plain);
    return Number.isFinite(value) ? value : text;
  },
};

/**
 * go-yaml v2 reads a plain scalar that Go's strconv.ParseInt(s, 0, 64) accepts (underscores removed)
 * as an integer: that includes `0o17` and upper-case prefixes (`0X1F`, `0B101`), which YAML 1.1 does not.
 */
const goPrefixedInt: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'GO',
  test: /^[-+]?0(?:[oO][0-7_]+|[xX][0-9a-fA-F_]+|[bB][01_]+)$/,
  resolve: (text) => {
    const sign = text.startsWith('-') ? -1 : 1;
    const body = text.replace(/^[-+]/, '').replaceAll('_', '').toLowerCase();
    const radix = body[1] === 'o' ? 8 : body[1] === 'x' ? 16 : 2;
    return sign * Number.parseInt(body.slice(2), radix);
  },
};

/** The path from the document's root to `node`, from the ancestors `visit` gives. */
function pathOf(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const chain = [...ancestors, node];
  const out: PathSegment[] = [];
  for (let i = 0; i < chain.length - 1; i++) {
    const a = chain[i];
    const next = chain[i + 1];
    if (isPair(a) && next === a.value) out.push(isScalar(a.key) ? String(a.key.value) : '?');
    else if (isSeq(a)) out.push(a.items.indexOf(next as never));
  }
  return out;
}

/** Keys written twice, with their paths: one Set per map (the library's own check compares every pair of keys). */
function duplicateKeys(
  node: Node,
  lineCounter: LineCounter,
  lineOffset: number,
): { path: PathSegment[]; line: number }[] {
  const out: { path: PathSegment[]; line: number }[] = [];
  visit(node, {
    Map(_, map, ancestors) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key as { value?: unknown; range?: [number, number, number] } | null;
        if (k === null || typeof k !== 'object' || !('value' in k)) continue;
        const key = String(k.value);
        if (seen.has(key))
          out.push({
            path: [...pathOf(ancestors, map), key],
            line: lineCounter.linePos(k.range?.[0] ?? 0).line + lineOffset,
          });
        seen.add(key);
      }
    },
  });
  return out;
}

const QUOTE_START = /(?:^|[:\-[{,?]\s+|^\s*|[[{,])(["'])/;

/**
 * The 1-based line (in `text`) of the first quoted scalar that is not closed on its own line,
 * before `end`: the library reports a missing closing quote where the document ends, but a person
 * needs the line where the quote opened.
 */
function openingQuoteLine(text: string, end: number): number | undefined {
  const lines = text.slice(0, end).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trimStart().startsWith('#')) continue;
    const m = QUOTE_START.exec(line);
    if (m?.[1] === undefined) continue;
    const from = line.slice((m.index ?? 0) + m[0].length - 1);
    const closed = m[1] === '"' ? /^"(?:[^"\\]|\\.)*"/.test(from) : /^'(?:[^']|'')*'/.test(from);
    if (!closed) return i + 1;
  }
  return undefined;
}

type Parsed = {
  docs: Document.Parsed[];
  maps: readonly FlatMap[];
  lineCounter: LineCounter;
  /** A syntax error in what the skim blanked (0-based line in the text); then nothing is parsed. */
  problem?: RegionProblem;
};

function parse(text: string): { docs: Document.Parsed[]; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    version: '1.1',
    customTags: kubectlTags,
  });
  return { docs: Array.isArray(docs) ? docs : [], lineCounter };
}

/**
 * A document's text parsed, its large flat maps read apart (yaml-flat-maps.ts). If the parse with
 * them cut out is not the single clean document holding `{}` at each map's path that it must be,
 * the text is parsed whole instead: the fast path never changes what is read.
 */
function parsePart(text: string): Parsed {
  const { text: skimmed, problem } = skimChecked(text);
  if (problem !== undefined) return { docs: [], maps: [], lineCounter: new LineCounter(), problem };
  const flat = extractFlatMaps(skimmed);
  if (flat.maps.length > 0) {
    const cut = parse(flat.text);
    const only = cut.docs.length === 1 ? cut.docs[0] : undefined;
    const fits =
      only !== undefined &&
      only.errors.length === 0 &&
      flat.maps.every((m) => {
        const node: unknown = only.getIn(m.path, true);
        return isMap(node) && node.items.length === 0;
      });
    if (fits) return { ...cut, maps: flat.maps };
  }
  return { ...parse(skimmed), maps: [] };
}

/** Puts the flat maps read apart back into a document's value, at their paths. */
function putBack(value: unknown, maps: readonly FlatMap[]): void {
  for (const m of maps) {
    let at: unknown = value;
    for (const key of m.path.slice(0, -1))
      at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
    const last = m.path.at(-1);
    if (typeof at === 'object' && at !== null && last !== undefined)
      (at as Record<string, unknown>)[last] = m.value;
  }
}

export function readDocuments(file: string, text: string): DocumentsResult {
  const issues: ManifestIssue[] = [];
  const documents: ParsedDocument[] = [];
  let index = 0;
  for (const part of splitDocuments(text)) {
    const lineOffset = part.line - 1;
    const { docs: list, maps, lineCounter, problem } = parsePart(part.text);
    const at = (offset: number | undefined) => lineCounter.linePos(offset ?? 0).line + lineOffset;
    if (problem !== undefined)
      issues.push({
        severity: 'error',
        file,
        line: problem.line + 1 + lineOffset,
        message: `YAML syntax error in document ${index + 1}: ${problem.message}; the document is skipped`,
      });
    for (const doc of list) {
      const n = index++;
      for (const w of doc.warnings) {
        issues.push({ severity: 'warning', file, line: at(w.pos[0]), message: `YAML: ${w.message}` });
      }
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const opened = e.code === 'MISSING_CHAR' ? openingQuoteLine(part.text, e.pos[0]) : undefined;
          issues.push({
            severity: 'error',
            file,
            line: opened === undefined ? at(e.pos[0]) : opened + lineOffset,
            message: `YAML syntax error in document ${n + 1}: ${e.message}; the document is skipped`,
          });
        }
        continue;
      }
      const node = doc.contents;
      if (node === null) continue; // an empty document: nothing to load, nothing to say
      let dups: { path: PathSegment[]; line: number }[];
      try {
        dups = duplicateKeys(node, lineCounter, lineOffset);
        for (const m of maps)
          for (const r of m.repeats) dups.push({ path: [...m.path, r.key], line: r.line + 1 + lineOffset });
      } catch {
        issues.push({
          severity: 'error',
          file,
          line: at(node.range?.[0]),
          message: `YAML: document ${n + 1} is nested too deeply to read; it is skipped`,
        });
        continue;
      }
      // Keys written twice go with the document: the loader reports those in fields netaudit reads
      // (with the object and field), as for JSON, and skips the object.
      const repeats = new Map<string, { path: PathSegment[]; line: number }>();
      for (const d of dups) {
        const key = formatFieldPath(d.path);
        if (!repeats.has(key)) repeats.set(key, d);
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 1000 });
      } catch (e: unknown) {
        const message = e instanceof Error ? e.message : String(e);
        issues.push({ severity: 'error', file, line: at(node.range?.[0]), message: `YAML: ${message}` });
        continue;
      }
      if (value === null || value === undefined) continue;
      putBack(value, maps);
      const anchor: NodeAnchor = {
        node,
        lineCounter,
        lineOffset,
        flatMaps: maps,
        repeats: new Map([...repeats].map(([k, d]) => [k, d.line])),
      };
      documents.push({
        index: n,
        value,
        anchor,
        ...(repeats.size > 0 && { repeated: [...repeats.values()].map((d) => d.path) }),
      });
    }
    if (list.length === 0) index++;
  }
  return { documents, issues };
}
