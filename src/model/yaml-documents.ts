// Splits one file's text into documents (YAML streams with `---`, or one JSON document), reporting
// syntax errors per document so that the rest of a file still loads when the parser can recover.

import { LineCounter, parseAllDocuments } from 'yaml';
import type { ManifestIssue } from '../errors.ts';
import type { NodeAnchor } from './yaml-locate.ts';

export interface ParsedDocument {
  /** 0-based position of the document in its file. */
  readonly index: number;
  readonly value: unknown;
  readonly anchor: NodeAnchor;
}

export interface DocumentsResult {
  readonly documents: ParsedDocument[];
  readonly issues: ManifestIssue[];
}

/**
 * YAML accepts things JSON does not (`{"a": }` is a null there) and words its errors for YAML, so
 * JSON files are first checked by JSON.parse, whose messages a JSON author recognises.
 */
function jsonIssue(file: string, text: string, lineCounter: LineCounter): ManifestIssue | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e: unknown) {
    const message = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(message);
    const line = pos?.[1] !== undefined ? lineCounter.linePos(Number(pos[1])).line : undefined;
    const base = { severity: 'error' as const, file, message: `JSON syntax error: ${message}` };
    return line === undefined ? base : { ...base, line };
  }
}

export function readDocuments(file: string, text: string): DocumentsResult {
  const lineCounter = new LineCounter();
  const issues: ManifestIssue[] = [];
  const documents: ParsedDocument[] = [];
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (file.toLowerCase().endsWith('.json')) {
    const bad = jsonIssue(file, text, lineCounter);
    if (bad) return { documents, issues: [bad] };
  }
  docs.forEach((doc, index) => {
    const at = (offset: number | undefined) => lineCounter.linePos(offset ?? 0).line;
    for (const w of doc.warnings) {
      issues.push({ severity: 'warning', file, line: at(w.pos[0]), message: `YAML: ${w.message}` });
    }
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        issues.push({
          severity: 'error',
          file,
          line: at(e.pos[0]),
          message: `YAML syntax error in document ${index + 1}: ${e.message}; the document is skipped`,
        });
      }
      return;
    }
    const node = doc.contents;
    if (node === null) return; // an empty document: nothing to load, nothing to say
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      issues.push({ severity: 'error', file, line: at(node.range?.[0]), message: `YAML: ${message}` });
      return;
    }
    if (value === null || value === undefined) return;
    documents.push({ index, value, anchor: { node, lineCounter } });
  });
  return { documents, issues };
}
