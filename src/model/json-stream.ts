// Reads JSON (a file, stdin, or a text) piece by piece into a ManifestLoader: each item of a List is
// parsed, checked and reduced to what netaudit keeps before the next is read, so memory follows
// what is kept, not the size of the file. Lines inside an object are found by parsing its text
// again, only when an issue or `locate` asks for one.

import { LineCounter, parseDocument } from 'yaml';
import { formatFieldPath, type PathSegment } from './field-path.ts';
import type { ItemMemo } from './item-memo.ts';
import { findDuplicateKeys } from './json-duplicates.ts';
import { jsonErrorOffset } from './json-error.ts';
import { type JsonPiece, JsonSplitter, type SplitOptions } from './json-split.ts';
import { isListKind, itemDefaults, type ListDefaults } from './list-kind.ts';
import type { ManifestLoader, Place, Staged } from './manifest-loader.ts';
import { fieldsForKind } from './read-fields.ts';
import { locateLine } from './yaml-locate.ts';

/** Reads the bytes of an object again (from the file) when its lines are asked for later. */
export type Reread = (offset: number, bytes: number) => string | undefined;

/** The line of `path` inside a JSON text that starts on `firstLine`. */
function lineInText(text: string, firstLine: number, path: readonly PathSegment[]): number {
  if (path.length === 0) return firstLine;
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
    if (doc.contents === null) return firstLine;
    return locateLine({ node: doc.contents, lineCounter, lineOffset: firstLine - 1 }, path);
  } catch {
    return firstLine; // too deep for the YAML library: the object's own line
  }
}

/** The 1-based line of a JSON.parse error inside `text`, from the position its message gives. */
function errorLine(text: string, firstLine: number, message: string): number {
  const pos = /position (\d+)/.exec(message);
  const end = pos?.[1] !== undefined ? Number(pos[1]) : (jsonErrorOffset(text) ?? 0);
  let line = firstLine;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * A place whose lines come from a text held now (for the issues of this object). A text the
 * splitter marked as maybe holding a key twice is searched for repeats, which the place carries
 * with the lines they are at.
 */
function textPlace(
  file: string,
  documentIndex: number,
  text: string,
  firstLine: number,
  suspectKeys: boolean,
): Place {
  const line = (path: readonly PathSegment[]) => lineInText(text, firstLine, path);
  const repeats = suspectKeys ? findDuplicateKeys(text) : [];
  if (repeats.length === 0) return { file, documentIndex, line };
  // One entry per repeated path (a key written three times is one issue), at its first repeat.
  const found = new Map<string, { path: readonly PathSegment[]; line: number }>();
  let at = 0;
  let n = firstLine;
  for (const r of repeats) {
    for (let i = text.indexOf('\n', at); i >= 0 && i < r.offset; i = text.indexOf('\n', i + 1)) n++;
    at = r.offset;
    const key = formatFieldPath(r.path);
    if (!found.has(key)) found.set(key, { path: r.path, line: n });
  }
  return {
    file,
    documentIndex,
    line: (path) => found.get(formatFieldPath(path))?.line ?? line(path),
    repeated: [...found.values()].map((f) => f.path),
  };
}

/** What a splitter gives, in order: the pieces, and the heads it read (see HeadListener). */
export type SplitEvent =
  | JsonPiece
  | {
      readonly type: 'head';
      readonly document: number;
      readonly field: 'kind' | 'apiVersion';
      readonly value: string;
    };

/** The splitter's options for a reader: values of fields netaudit never reads are cut out (json-split.ts). */
export const SPLIT_OPTIONS: SplitOptions = { fieldsFor: fieldsForKind };

type Pending =
  | { readonly staged: Staged[] }
  | { readonly value: unknown; readonly place: Place; readonly keep: Place };

/** Feeds JSON bytes to a loader; `end()` after the last chunk. */
export class JsonStreamReader {
  private readonly loader: ManifestLoader;
  private readonly file: string;
  private readonly reread: Reread | undefined;
  private readonly splitter: JsonSplitter;
  private readonly heads = new Map<number, { kind?: string; apiVersion?: string }>();
  /** Items read before their List's kind (kubectl writes `items` before `kind`). */
  private pending: Pending[] = [];
  private pendingDocument = -1;

  private readonly memo: ItemMemo | undefined;

  constructor(
    loader: ManifestLoader,
    file: string,
    reread?: Reread,
    memo?: ItemMemo,
    split: SplitOptions = SPLIT_OPTIONS,
  ) {
    this.loader = loader;
    this.file = file;
    this.reread = reread;
    this.memo = memo;
    this.splitter = new JsonSplitter((document, field, value) => this.head(document, field, value), split);
  }

  private head(document: number, field: 'kind' | 'apiVersion', value: string): void {
    const head = this.heads.get(document) ?? {};
    head[field] = value;
    this.heads.set(document, head);
  }

  push(chunk: Uint8Array): void {
    for (const piece of this.splitter.push(chunk)) this.take(piece);
  }

  end(): void {
    for (const piece of this.splitter.end()) this.take(piece);
    this.endSplit();
  }

  /** Reads what a splitter elsewhere (a worker thread) gave, in its order; `endSplit()` after the last. */
  takeSplit(events: readonly SplitEvent[]): void {
    for (const e of events) {
      if (e.type === 'head') this.head(e.document, e.field, e.value);
      else this.take(e);
    }
  }

  endSplit(): void {
    // A document cut short after its kind: its items are read as that kind says, as if it had ended.
    const head = this.heads.get(this.pendingDocument);
    if (this.pending.length > 0 && head?.kind !== undefined && isListKind(head.kind, true))
      this.commitPending(this.pending, itemDefaults(head.kind, head.apiVersion));
    this.pending = [];
  }

  /**
   * `original` (an item whose text may have values cut out) gives the text as it is in the input,
   * so that a syntax error's message and line are those of that text, however the item was cut.
   */
  private parse(
    text: string,
    line: number,
    original?: () => string | undefined,
  ): { ok: true; value: unknown } | { ok: false } {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (e: unknown) {
      let message = e instanceof Error ? e.message : String(e);
      const whole = original?.();
      if (whole !== undefined && whole !== text) {
        try {
          JSON.parse(whole);
        } catch (w: unknown) {
          message = w instanceof Error ? w.message : String(w);
          text = whole;
        }
      }
      this.loader.addIssue({
        severity: 'error',
        file: this.file,
        line: errorLine(text, line, message),
        message: `JSON syntax error: ${message}; this object is skipped`,
      });
      return { ok: false };
    }
  }

  /**
   * The place kept with an object for later lines: it reads the object's bytes from the file again
   * (stdin cannot be read twice: there, the object's own line).
   */
  private keepPlace(piece: { document: number; offset: number; bytes: number; line: number }): Place {
    const { reread, file } = this;
    const { offset, bytes, line, document } = piece;
    return {
      file,
      documentIndex: document,
      line: (path) => {
        const text = path.length > 0 ? reread?.(offset, bytes) : undefined;
        return text === undefined ? line : lineInText(text, line, path);
      },
    };
  }

  private commitPending(pending: readonly Pending[], defaults: ListDefaults | undefined): void {
    for (const p of pending)
      this.loader.commit('staged' in p ? p.staged : this.loader.stage(p.value, p.place, defaults, p.keep));
  }

  private take(piece: JsonPiece): void {
    switch (piece.type) {
      case 'error':
        this.loader.addIssue({
          severity: 'error',
          file: this.file,
          line: piece.line,
          message: piece.message,
        });
        return;
      case 'item': {
        const keep = this.keepPlace(piece);
        const recalled = this.memo?.recall(piece.text, keep);
        const parsed = recalled
          ? { ok: true as const, value: undefined }
          : this.parse(piece.text, piece.line, () => this.reread?.(piece.offset, piece.bytes));
        if (!parsed.ok) return;
        const place = textPlace(this.file, piece.document, piece.text, piece.line, piece.suspectKeys);
        const stage = (defaults: ListDefaults | undefined): Staged[] => {
          if (recalled) return recalled;
          const staged = this.loader.stage(parsed.value, place, defaults, keep);
          this.memo?.remember(piece.text, parsed.value, staged);
          return staged;
        };
        const head = this.heads.get(piece.document);
        if (head?.kind !== undefined) {
          const pending = this.pending;
          this.pending = [];
          // `items` of an object that is not a list: a field netaudit does not read.
          if (!isListKind(head.kind, true)) return;
          const defaults = itemDefaults(head.kind, head.apiVersion);
          this.commitPending(pending, defaults); // items read before the kind keep their order
          this.loader.commit(stage(defaults));
          return;
        }
        this.pendingDocument = piece.document;
        const hasKind =
          recalled !== undefined ||
          (typeof parsed.value === 'object' && parsed.value !== null && 'kind' in parsed.value);
        this.pending.push(hasKind ? { staged: stage(undefined) } : { value: parsed.value, place, keep });
        return;
      }
      case 'document': {
        const pending = this.pending;
        this.pending = [];
        const head = this.heads.get(piece.document) ?? {};
        this.heads.delete(piece.document);
        const parsed = this.parse(piece.text, piece.line);
        const value: unknown = parsed.ok ? parsed.value : undefined;
        const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
        // The list's own kind; if the rest of the document is broken, the kind the scan read.
        const kind = typeof record.kind === 'string' ? record.kind : parsed.ok ? undefined : head.kind;
        if (piece.hadItems && kind !== undefined && isListKind(kind, true)) {
          this.commitPending(pending, itemDefaults(kind, record.apiVersion ?? head.apiVersion));
          return;
        }
        if (!parsed.ok) return;
        const place = textPlace(this.file, piece.document, piece.text, piece.line, piece.suspectKeys);
        this.loader.commit(this.loader.stage(value, place, undefined, this.keepPlace(piece)));
        return;
      }
    }
  }
}

/** Reads a whole JSON text (a file already in memory). */
export function addJsonText(loader: ManifestLoader, file: string, text: string): void {
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  const reader = new JsonStreamReader(loader, file, (offset, n) =>
    decoder.decode(bytes.subarray(offset, offset + n)),
  );
  reader.push(bytes);
  reader.end();
}
