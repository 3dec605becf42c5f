// Blanks, in the text of one block-style YAML document, the subtrees netaudit never reads (a pod's
// env and volumes, a ConfigMap's data, managedFields), line by line, before the YAML library sees
// it: that library needs seconds per megabyte and far more memory than the text, so a 10 MB list in
// an ignored field would otherwise exhaust memory. Lines are blanked, never removed, so every line
// number stays true. Whatever this does not fully understand (flow collections over several lines,
// tabs, anchors in what it would blank, complex keys) makes it return the text unchanged: the
// library then reads it all, slowly but exactly. What it blanks is checked on the way for the
// syntax errors that are certain (yaml-region-check.ts), since the library will not see them.

import { isListKind } from './list-kind.ts';
import { type Fields, fieldsForKind } from './read-fields.ts';
import { RegionCheck, type RegionProblem } from './yaml-region-check.ts';

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
  return skimChecked(text).text;
}

/** As skimDocument, with the first syntax error found in what was blanked (0-based line). */
export function skimChecked(text: string): { text: string; problem?: RegionProblem } {
  const kind = documentKind(text);
  if (kind === undefined) return { text };
  const problems: RegionProblem[] = [];
  let out = text;
  if (isListKind(kind, true)) out = skimList(text, problems);
  else {
    const fields = fieldsForKind(kind);
    const lines = fields === true ? undefined : skimLines(text.split('\n'), fields, problems);
    if (lines !== undefined) out = lines.join('\n');
  }
  const problem = problems.reduce<RegionProblem | undefined>(
    (a, p) => (a === undefined || p.line < a.line ? p : a),
    undefined,
  );
  return problem === undefined ? { text: out } : { text: out, problem };
}

const ITEMS_LINE = /^items:[ \t]*(?:#.*)?$/;

/**
 * A List (`kubectl get -o yaml` writes one): each item is skimmed for its own kind. Items whose
 * kind is not written plainly, or that the skim does not understand, are left whole.
 */
function skimList(text: string, problems: RegionProblem[]): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => ITEMS_LINE.test(l));
  if (start < 0) return text;
  let dashCol = -1;
  let from = -1;
  let changed = false;
  const finish = (end: number): void => {
    if (from < 0) return;
    const part = lines.slice(from, end);
    const first = part[0] as string;
    const keyCol = dashCol + 1 + (first.length - dashCol - 1 - first.slice(dashCol + 1).trimStart().length);
    const kindLine = new RegExp(
      `^(?:[ \\t]*- )?[ ]{0,${keyCol}}kind:[ \\t]*(?:"([^"]*)"|'([^']*)'|([^\\s#]+))`,
    );
    let kind: string | undefined;
    for (const l of part) {
      const indent = l.length - l.trimStart().length;
      const m = kindLine.exec(l);
      if (m && (l === first || indent === keyCol)) {
        kind = m[1] ?? m[2] ?? m[3];
        break;
      }
    }
    const fields = kind === undefined ? true : fieldsForKind(kind);
    if (fields === true) return;
    const found: RegionProblem[] = [];
    const out = skimLines(part, fields, found, dashCol);
    if (out === undefined) return;
    for (const p of found) problems.push({ ...p, line: p.line + from });
    lines.splice(from, out.length, ...out);
    changed = true;
  };
  for (let n = start + 1; n < lines.length; n++) {
    const line = lines[n] as string;
    const content = line.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const ind = line.length - content.length;
    const dash = content === '-' || content.startsWith('- ');
    if (dashCol < 0) {
      if (!dash) return text;
      dashCol = ind;
    }
    if (ind === dashCol && dash) {
      finish(n);
      from = n;
    } else if (ind <= dashCol) {
      finish(n);
      from = -1;
      break;
    }
  }
  finish(lines.length);
  return changed ? lines.join('\n') : text;
}

/**
 * `lines` with unread subtrees blanked, or undefined when nothing was blanked or the structure is
 * not understood. With `dashCol`, the lines are items of a sequence whose dashes sit at that column.
 */
function skimLines(
  lines: string[],
  top: { readonly [key: string]: Fields },
  problems: RegionProblem[],
  dashCol?: number,
): string[] | undefined {
  lines = [...lines];
  const stack: Frame[] =
    dashCol === undefined
      ? [{ col: 0, fields: top, sequence: false }]
      : [{ col: dashCol, fields: top, sequence: true }];
  /** A region below a key: lines deeper than `col` (and dashes at `col` when `compact`) are blanked or kept. */
  let region: { col: number; compact: boolean; blank: boolean } | undefined;
  /** The last read key whose value is a map of fields, on the lines below it. */
  let pending: { col: number; fields: { readonly [key: string]: Fields } } | undefined;
  let changed = false;
  /** The syntax check of the region being blanked, and the first problem it found. */
  let check: RegionCheck | undefined;
  let problem: RegionProblem | undefined;
  const endRegion = (): void => {
    check?.end();
    problem ??= check?.problem;
    check = undefined;
  };
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    const ind = line.length - line.trimStart().length;
    const content = line.slice(ind);
    if (content === '' || content.startsWith('#')) {
      if (region?.blank && content !== '') {
        check?.line(line, n);
        lines[n] = '';
      }
      continue;
    }
    if (line.slice(0, ind).includes('\t')) return undefined;
    if (n === 0 && content.startsWith('---')) continue;
    const dash = content === '-' || content.startsWith('- ');
    if (region) {
      if (ind > region.col || (region.compact && ind === region.col && dash)) {
        if (region.blank) {
          if (content.includes('&')) return undefined; // an anchor a read field may use
          check?.line(line, n);
          lines[n] = '';
          changed = true;
        }
        continue;
      }
      region = undefined;
      endRegion();
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
      if (stack.length === 1 && dashCol !== undefined && ind !== dashCol) return undefined;
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
      // The key stays, with a null value (unset, as the API server reads null): its mapping keeps
      // the same keys, and a dash its item. Everything below it is blanked.
      if (value.includes('&')) return undefined;
      lines[n] = `${line.slice(0, line.length - rest.length)}${m[0].trimEnd()} ~`;
      changed = true;
      region = { col, compact: !inline, blank: true };
      check = new RegionCheck();
      check.value(value, col, n);
    } else if (want === true || inline) {
      region = { col, compact: !inline, blank: false };
    } else {
      pending = { col, fields: want };
    }
  }
  endRegion();
  if (changed && problem !== undefined) problems.push(problem);
  return changed ? lines : undefined;
}
