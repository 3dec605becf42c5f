// Blanks, in the text of one block-style YAML document, the subtrees netaudit never reads (a pod's
// env and volumes, a ConfigMap's data, managedFields), line by line, before the YAML library sees
// it: that library needs seconds per megabyte and far more memory than the text, so a 10 MB list in
// an ignored field would otherwise exhaust memory. Lines are blanked, never removed, so every line
// number stays true. Whatever this does not fully understand (flow collections over several lines,
// tabs, anchors in what it would blank, complex keys) makes it return the text unchanged: the
// library then reads it all, slowly but exactly.

import { type Fields, fieldsForKind } from './read-fields.ts';

interface Frame {
  /** Column of this mapping's keys (for a sequence: of its dashes). */
  readonly col: number;
  readonly fields: { readonly [key: string]: Fields };
  readonly sequence: boolean;
}

const KIND_LINE = /^kind:[ \t]*(?:"([^"]*)"|'([^']*)'|([^\s#]+))/m;
const KEY =
  /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s#'"{[\]},&*!|>%@`?-][^:#]*?|-[^\s:#][^:#]*?))[ \t]*:(?:[ \t]+|$)/;

/** The kind a document declares on a top-level line, if it does so plainly. */
export function documentKind(text: string): string | undefined {
  const m = KIND_LINE.exec(text);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

function unquoteKey(m: RegExpExecArray): string {
  if (m[1] !== undefined) {
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1];
    }
  }
  if (m[2] !== undefined) return m[2].replaceAll("''", "'");
  return (m[3] ?? '').trimEnd();
}

/** A value on the key's own line that continues below it (an open quote or bracket): not handled. */
function opensMultiLineFlow(rest: string): boolean {
  const v = rest.replace(/[ \t]+#.*$/, '').trim();
  if (v.startsWith('"')) return !/^"(?:[^"\\]|\\.)*"$/.test(v);
  if (v.startsWith("'")) return !/^'(?:[^']|'')*'$/.test(v);
  if (v.startsWith('{') || v.startsWith('[')) {
    let depth = 0;
    for (const c of v) {
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
    return depth !== 0;
  }
  return false;
}

/**
 * The document's text with unread subtrees blanked, or the text itself when there is nothing to
 * blank or its structure is not plain block style. `kind` picks the fields kept (see read-fields.ts).
 */
export function skimDocument(text: string): string {
  const kind = documentKind(text);
  const fields = kind === undefined ? undefined : fieldsForKind(kind);
  if (fields === undefined || fields === true) return text;
  const lines = text.split('\n');
  const out = skimLines(lines, fields);
  return out === undefined ? text : out.join('\n');
}

function skimLines(lines: string[], top: { readonly [key: string]: Fields }): string[] | undefined {
  const stack: Frame[] = [{ col: 0, fields: top, sequence: false }];
  /** A region below a key: lines deeper than `col` (and dashes at `col` when `compact`) are blanked or kept. */
  let region: { col: number; compact: boolean; blank: boolean } | undefined;
  /** The last read key whose value is a map of fields, on the lines below it. */
  let pending: { col: number; fields: { readonly [key: string]: Fields } } | undefined;
  let changed = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    const ind = line.length - line.trimStart().length;
    const content = line.slice(ind);
    if (content === '' || content.startsWith('#')) {
      if (region?.blank && content !== '') lines[n] = '';
      continue;
    }
    if (line.slice(0, ind).includes('\t')) return undefined;
    if (n === 0 && content.startsWith('---')) continue;
    const dash = content === '-' || content.startsWith('- ');
    if (region) {
      if (ind > region.col || (region.compact && ind === region.col && dash)) {
        if (region.blank) {
          if (content.includes('&')) return undefined; // an anchor a read field may use
          lines[n] = '';
          changed = true;
        }
        continue;
      }
      region = undefined;
    }
    let col = ind;
    let rest = content;
    if (dash) {
      // A sequence item: its mapping's keys start after the dash.
      if (content === '-' || /^-[ \t]+-/.test(content)) return undefined;
      const after = content.slice(1);
      col = ind + 1 + (after.length - after.trimStart().length);
      rest = after.trimStart();
      while (stack.length > 1 && (stack.at(-1) as Frame).col > ind) stack.pop();
      let seq = stack.at(-1) as Frame;
      if (!(seq.sequence && seq.col === ind)) {
        if (pending === undefined || ind < pending.col) return undefined;
        seq = { col: ind, fields: pending.fields, sequence: true };
        stack.push(seq);
        pending = undefined;
      }
      stack.push({ col, fields: seq.fields, sequence: false });
    } else {
      while (stack.length > 1) {
        const f = stack.at(-1) as Frame;
        if (f.col > col || (f.sequence && f.col >= col)) stack.pop();
        else break;
      }
      if (pending !== undefined && col > pending.col) {
        stack.push({ col, fields: pending.fields, sequence: false });
      }
      pending = undefined;
    }
    const frame = stack.at(-1) as Frame;
    if (frame.sequence || frame.col !== col) return undefined;
    const m = KEY.exec(rest);
    if (m === null) return undefined;
    const key = unquoteKey(m);
    const value = rest.slice(m[0].length);
    const inline = value.trim() !== '' && !value.trim().startsWith('#');
    if (inline && opensMultiLineFlow(value)) return undefined;
    if (key === '<<') return undefined; // a merge key: what it brings in is not on these lines
    const want = frame.fields[key];
    if (want === undefined) {
      // Blank the key (a dash stays a dash: the item's other keys follow) and all below it.
      if (value.includes('&')) return undefined;
      lines[n] = dash ? `${line.slice(0, ind)}-` : '';
      changed = true;
      region = { col, compact: !inline, blank: true };
    } else if (want === true || inline) {
      region = { col, compact: !inline, blank: false };
    } else {
      pending = { col, fields: want };
    }
  }
  return changed ? lines : undefined;
}
