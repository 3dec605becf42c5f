// Reads the files and folders given to `-f` straight into the manifest loader, streaming JSON: a
// JSON file (or stdin starting with `{`) is read in chunks and its List items loaded one at a time,
// so a file larger than a string may be (a 130k-pod List is) is read in bounded memory. YAML is
// read whole, one file at a time, and its documents one at a time.

import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { ManifestIssue } from '../errors.ts';
import type { ItemMemo } from '../model/item-memo.ts';
import { JsonStreamReader, type Reread } from '../model/json-stream.ts';
import { type LoadOptions, type LoadResult, ManifestLoader } from '../model/manifest-loader.ts';
import { addText } from '../model/manifests.ts';
import { describe, expandPaths, type ReadOptions, STDIN, STDIN_NAME, stripBom } from './files.ts';

export interface ReadManifests {
  readonly load: LoadResult;
  /** Problems reading paths (missing files, empty folders); the loader's own are in load.issues. */
  readonly issues: ManifestIssue[];
}

/** Chunks of 1 MiB: few enough calls, small enough to keep memory flat. */
const CHUNK = 1 << 20;

const UTF8_BOM = [0xef, 0xbb, 0xbf];

function hasBom(chunk: Uint8Array): boolean {
  return UTF8_BOM.every((b, i) => chunk[i] === b);
}

/** First non-space byte is `{`: kubectl reads such input as JSON whatever its name. */
function startsLikeJson(chunk: Uint8Array): boolean | undefined {
  for (const b of chunk) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b;
  }
  return undefined;
}

/** Reads `bytes` at `offset` of a file again, to find lines inside an object long after it was read. */
function rereadFile(file: string, skip: number): Reread {
  return (offset, bytes) => {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const buf = Buffer.alloc(bytes);
      const n = readSync(fd, buf, 0, bytes, offset + skip);
      return buf.toString('utf8', 0, n);
    } catch {
      return undefined; // the file changed or went away: the object's own line is given instead
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };
}

async function readChunks(
  loader: ManifestLoader,
  file: string,
  chunks: AsyncIterable<string | Uint8Array>,
  forceJson: boolean,
  reread: ((skip: number) => Reread) | undefined,
  memo: ItemMemo | undefined,
): Promise<void> {
  const encoder = new TextEncoder();
  let json: JsonStreamReader | undefined;
  const yaml: Uint8Array[] = [];
  let first = true;
  for await (const raw of chunks) {
    let chunk = typeof raw === 'string' ? encoder.encode(raw) : raw;
    if (first) {
      if (chunk.length === 0) continue;
      const bom = hasBom(chunk);
      if (bom) chunk = chunk.subarray(3);
      const looks = startsLikeJson(chunk);
      if (looks === undefined && !forceJson) {
        yaml.push(chunk);
        continue; // only spaces so far: decide on the next chunk
      }
      first = false;
      if (forceJson || looks === true) {
        json = new JsonStreamReader(loader, file, reread?.(bom ? 3 : 0), memo);
        for (const y of yaml) json.push(y);
        yaml.length = 0;
      }
    }
    if (json) json.push(chunk);
    else yaml.push(chunk);
  }
  if (json) {
    json.end();
    return;
  }
  addText(loader, file, stripBom(Buffer.concat(yaml).toString('utf8')));
}

/**
 * Reads every path into one LoadResult: `-` is stdin, folders are walked (see files.ts), and a
 * file reached twice is read once. A path that cannot be read is an issue, never an exception.
 */
export async function readManifests(
  paths: readonly string[],
  options: ReadOptions & LoadOptions & { readonly memo?: ItemMemo } = {},
): Promise<ReadManifests> {
  const issues: ManifestIssue[] = [];
  const loader = new ManifestLoader(
    options.defaultNamespace === undefined ? {} : { defaultNamespace: options.defaultNamespace },
  );
  for (const input of await expandPaths(paths, issues)) {
    const file = input === STDIN ? STDIN_NAME : input;
    try {
      const chunks =
        input === STDIN
          ? (options.stdin ?? process.stdin)
          : createReadStream(input, { highWaterMark: CHUNK });
      const forceJson = input !== STDIN && input.toLowerCase().endsWith('.json');
      await readChunks(
        loader,
        file,
        chunks,
        forceJson,
        input === STDIN ? undefined : (skip) => rereadFile(input, skip),
        options.memo,
      );
    } catch (e: unknown) {
      issues.push({ severity: 'error', file, message: `cannot read: ${describe(e)}` });
    }
  }
  return { load: loader.finish(), issues };
}
