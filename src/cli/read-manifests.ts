// Reads the files and folders given to `-f` straight into the manifest loader, streaming JSON: a
// JSON file (or stdin starting with `{`) is read in chunks and its List items loaded one at a time,
// so a file larger than a string may be (a 130k-pod List is) is read in bounded memory. A JSON
// file of 256 MiB or more is split in a worker thread (json-read-worker.ts) while this thread parses
// and checks its pieces: two cores for the two halves of the work. YAML is read whole, one file at
// a time, and its documents one at a time.

import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ManifestIssue } from '../errors.ts';
import type { ItemMemo } from '../model/item-memo.ts';
import { JsonStreamReader, type Reread } from '../model/json-stream.ts';
import { type LoadOptions, type LoadResult, ManifestLoader } from '../model/manifest-loader.ts';
import { addText } from '../model/manifests.ts';
import { describe, expandPaths, type ReadOptions, STDIN, STDIN_NAME, stripBom } from './files.ts';
import { TAKEN, type WorkerInput, type WorkerMessage } from './json-read-worker.ts';
import { decodeBatch } from './split-batch.ts';

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
 * JSON files at least this large are split in a worker thread. Measured: the 1.3 GB kubectl List
 * reads in about 60 % of the time with it; the compact 86 MiB List of the same cluster (little to
 * scan or cut, the work is in the checks) was no faster, often slower (the worker's start, copying
 * the pieces, two threads and V8's GC on two cores).
 */
const WORKER_MIN_BYTES = 256 << 20;

const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './json-read-worker.ts' : './json-read-worker.js',
  import.meta.url,
);

/**
 * Whether a file is JSON large enough for the worker, and the bytes of its byte-order mark; the
 * first bytes decide as in readChunks (undefined: read it here).
 */
function jsonForWorker(file: string, forceJson: boolean, minBytes: number): { skip: number } | undefined {
  const fd = openSync(file, 'r');
  try {
    if (fstatSync(fd).size < minBytes) return undefined;
    const head = new Uint8Array(64 << 10);
    const n = readSync(fd, head, 0, head.length, 0);
    const bom = hasBom(head.subarray(0, n));
    const looks = startsLikeJson(head.subarray(bom ? 3 : 0, n));
    return forceJson || looks === true ? { skip: bom ? 3 : 0 } : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Reads a JSON file split by a worker thread (json-read-worker.ts); this thread parses and checks. */
function readInWorker(
  loader: ManifestLoader,
  file: string,
  skip: number,
  reread: Reread,
  memo: ItemMemo | undefined,
): Promise<void> {
  const reader = new JsonStreamReader(loader, file, reread, memo);
  const flow = new SharedArrayBuffer(8);
  const counters = new Int32Array(flow);
  const worker = new Worker(WORKER_URL, { workerData: { file, skip, flow } satisfies WorkerInput });
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: unknown): void => {
      if (done) return;
      done = true;
      void worker.terminate();
      if (error === undefined) resolve();
      else reject(error);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (done) return;
      try {
        if (m.type === 'batch') {
          reader.takeSplit(decodeBatch(m.batch));
          Atomics.add(counters, TAKEN, 1);
          Atomics.notify(counters, TAKEN);
        } else if (m.type === 'end') {
          reader.endSplit();
          finish();
        } else finish(new Error(m.message));
      } catch (e: unknown) {
        finish(e);
      }
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code) => finish(new Error(`the reading thread stopped (exit code ${code})`)));
  });
}

/**
 * Reads every path into one LoadResult: `-` is stdin, folders are walked (see files.ts), and a
 * file reached twice is read once. A path that cannot be read is an issue, never an exception.
 */
export async function readManifests(
  paths: readonly string[],
  options: ReadOptions &
    LoadOptions & {
      readonly memo?: ItemMemo;
      /** JSON files at least this large are split in a worker thread (tests lower it). */
      readonly workerMinBytes?: number;
    } = {},
): Promise<ReadManifests> {
  const issues: ManifestIssue[] = [];
  const loader = new ManifestLoader(
    options.defaultNamespace === undefined ? {} : { defaultNamespace: options.defaultNamespace },
  );
  for (const input of await expandPaths(paths, issues)) {
    const file = input === STDIN ? STDIN_NAME : input;
    try {
      const forceJson = input !== STDIN && input.toLowerCase().endsWith('.json');
      const inWorker =
        input === STDIN
          ? undefined
          : jsonForWorker(input, forceJson, options.workerMinBytes ?? WORKER_MIN_BYTES);
      if (input !== STDIN && inWorker !== undefined) {
        await readInWorker(loader, file, inWorker.skip, rereadFile(input, inWorker.skip), options.memo);
        continue;
      }
      const chunks =
        input === STDIN
          ? (options.stdin ?? process.stdin)
          : createReadStream(input, { highWaterMark: CHUNK });
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
