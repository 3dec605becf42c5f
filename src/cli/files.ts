// Reads the files and folders given to `-f` into texts for the (pure) manifest loader. Folders are
// walked recursively for .yaml, .yml and .json files, in sorted order so that runs are
// reproducible; `-` reads stdin. A path that cannot be read is an issue, never an exception.

import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ManifestIssue } from '../errors.ts';
import type { ManifestSource } from '../model/manifests.ts';

export interface ManifestSources {
  readonly sources: ManifestSource[];
  readonly issues: ManifestIssue[];
}

export interface ReadOptions {
  /** Where `-` reads from; process.stdin unless a test gives something else. */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
}

export const STDIN_NAME = '<stdin>';
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

function isManifestFile(name: string): boolean {
  const lower = name.toLowerCase();
  return MANIFEST_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Hidden folders (.git, .helm) and node_modules hold no manifests a user means to analyse. */
function isSkippedDir(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function stripBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

export async function readStdin(stdin: AsyncIterable<string | Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stdin)
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Manifest files under `dir`, sorted; `visited` holds real paths of folders seen, against symlink loops. */
async function walk(dir: string, visited: Set<string>, issues: ManifestIssue[]): Promise<string[]> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (e: unknown) {
    issues.push({ severity: 'error', file: dir, message: `cannot read folder: ${describe(e)}` });
    return [];
  }
  if (visited.has(real)) return [];
  visited.add(real);
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e: unknown) {
    issues.push({ severity: 'error', file: dir, message: `cannot read folder: ${describe(e)}` });
    return [];
  }
  const files: string[] = [];
  for (const entry of [...entries].sort((a, b) => compare(a.name, b.name))) {
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const s = await stat(path);
        isDir = s.isDirectory();
        isFile = s.isFile();
      } catch (e: unknown) {
        issues.push({ severity: 'error', file: path, message: `cannot read: ${describe(e)}` });
        continue;
      }
    }
    if (isDir && !isSkippedDir(entry.name)) files.push(...(await walk(path, visited, issues)));
    else if (isFile && isManifestFile(entry.name)) files.push(path);
  }
  return files;
}

/**
 * Reads every path in order: `-` is stdin, a folder contributes its manifest files (recursively,
 * sorted), a file is read whatever its extension (the user named it). A file reached twice is read once.
 */
export async function readManifestSources(
  paths: readonly string[],
  options: ReadOptions = {},
): Promise<ManifestSources> {
  const sources: ManifestSource[] = [];
  const issues: ManifestIssue[] = [];

  for (const input of await expandPaths(paths, issues)) {
    if (input === STDIN) {
      try {
        sources.push({ file: STDIN_NAME, text: stripBom(await readStdin(options.stdin ?? process.stdin)) });
      } catch (e: unknown) {
        issues.push({ severity: 'error', file: STDIN_NAME, message: `cannot read: ${describe(e)}` });
      }
      continue;
    }
    try {
      sources.push({ file: input, text: stripBom(await readFile(input, 'utf8')) });
    } catch (e: unknown) {
      issues.push({ severity: 'error', file: input, message: `cannot read: ${describe(e)}` });
    }
  }
  return { sources, issues };
}

/** Stands for stdin in the list of inputs. */
export const STDIN: unique symbol = Symbol('stdin');

/**
 * The files to read, in order: `-` is stdin, a folder contributes its manifest files (recursively,
 * sorted), a file is read whatever its extension (the user named it). A file reached twice (named
 * twice, or through a symlink) is read once, under the first name it was reached by.
 */
export async function expandPaths(
  paths: readonly string[],
  issues: ManifestIssue[],
): Promise<(string | typeof STDIN)[]> {
  const out: (string | typeof STDIN)[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const addFile = async (file: string): Promise<void> => {
    let key: string;
    try {
      key = await realpath(file);
    } catch {
      key = resolve(file); // reading it will report why it cannot be read
    }
    if (seen.has(key)) return;
    seen.add(key);
    out.push(file);
  };
  for (const path of paths) {
    if (path === '-') {
      out.push(STDIN);
      continue;
    }
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (e: unknown) {
      issues.push({ severity: 'error', file: path, message: `cannot read: ${describe(e)}` });
      continue;
    }
    if (!isDir) {
      await addFile(path);
      continue;
    }
    const files = await walk(path, visited, issues);
    if (files.length === 0) {
      issues.push({
        severity: 'warning',
        file: path,
        message: 'no .yaml, .yml or .json files in this folder',
      });
    }
    for (const f of files) await addFile(f);
  }
  return out;
}
