// The manifest loader for texts: texts in, typed objects + issues out. Pure (no file system): the
// CLI reads files (src/cli/files.ts) and hands their texts here, or streams large JSON through
// src/model/json-stream.ts. Every object is checked as the API server would (shape, then
// Kubernetes' own rules for what netaudit reads); an invalid object is skipped whole and the others
// still load. Defaulting that changes semantics is applied on copies.

import { addJsonText } from './json-stream.ts';
import { type LoadOptions, type LoadResult, ManifestLoader } from './manifest-loader.ts';
import { readDocuments } from './yaml-documents.ts';
import { locateLine } from './yaml-locate.ts';

export type { Loaded, LoadOptions, LoadResult, Locate, SourcePosition } from './manifest-loader.ts';
export type { ObjectRef } from './object-ref.ts';
export { formatObjectRef } from './object-ref.ts';

export interface ManifestSource {
  readonly file: string;
  readonly text: string;
}

/** As kubectl decides: JSON if the name says so or the text starts with `{`; YAML otherwise. */
export function isJson(file: string, text: string): boolean {
  return file.toLowerCase().endsWith('.json') || /^\s*\{/.test(text.slice(0, 4096));
}

/** Adds every document of one file's text to `loader`. */
export function addText(loader: ManifestLoader, file: string, text: string): void {
  if (isJson(file, text)) {
    addJsonText(loader, file, text);
    return;
  }
  const docs = readDocuments(file, text);
  for (const issue of docs.issues) loader.addIssue(issue);
  for (const doc of docs.documents) {
    const anchor = doc.anchor;
    loader.add(doc.value, {
      file,
      documentIndex: doc.index,
      line: (path) => locateLine(anchor, path),
      ...(doc.repeated !== undefined && { repeated: doc.repeated }),
    });
  }
}

export function parseManifests(sources: readonly ManifestSource[], options: LoadOptions = {}): LoadResult {
  const loader = new ManifestLoader(options);
  for (const { file, text } of sources) addText(loader, file, text);
  return loader.finish();
}
