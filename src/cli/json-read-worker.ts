// A worker thread that reads a JSON file and splits it (json-split.ts, with the values of fields
// netaudit never reads cut out), while the main thread parses and checks the pieces: the scan is
// linear in the file's bytes, the rest in what is read, and each gets a core. Pieces and heads go
// to the main thread in batches, in the splitter's order; the worker stays at most a few batches
// ahead (a counter in shared memory), so memory holds a few batches, not the file.

import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JsonSplitter } from '../model/json-split.ts';
import type { SplitEvent } from '../model/json-stream.ts';
import { fieldsForKind } from '../model/read-fields.ts';
import { encodeBatch, type SplitBatch } from './split-batch.ts';

export interface WorkerInput {
  readonly file: string;
  /** Bytes to skip at the start (a byte-order mark). */
  readonly skip: number;
  /** Two Int32 counters: batches posted, batches the main thread has read. */
  readonly flow: SharedArrayBuffer;
}

/** What the worker posts: a batch of events, then `end` (or `error`). */
export type WorkerMessage =
  | { readonly type: 'batch'; readonly batch: SplitBatch }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly message: string };

export const POSTED = 0;
export const TAKEN = 1;
/** Batches the worker may be ahead of the main thread (fewer: it waits for the main thread's GC pauses). */
const AHEAD = 32;
/** A batch is posted once its texts hold this many characters. */
const BATCH_CHARS = 2 << 20;
const CHUNK = 1 << 20;

function run(port: NonNullable<typeof parentPort>, input: WorkerInput): void {
  const counters = new Int32Array(input.flow);
  let events: SplitEvent[] = [];
  let chars = 0;
  const post = (): void => {
    for (;;) {
      const taken = Atomics.load(counters, TAKEN);
      if (Atomics.load(counters, POSTED) - taken < AHEAD) break;
      Atomics.wait(counters, TAKEN, taken, 1000);
    }
    Atomics.add(counters, POSTED, 1);
    port.postMessage({ type: 'batch', batch: encodeBatch(events) } satisfies WorkerMessage);
    events = [];
    chars = 0;
  };
  // The options are json-stream.ts's SPLIT_OPTIONS, without loading that module (and the YAML
  // library) in this thread.
  const splitter = new JsonSplitter(
    (document, field, value) => {
      events.push({ type: 'head', document, field, value });
    },
    { fieldsFor: fieldsForKind },
  );
  const take = (pieces: readonly SplitEvent[]): void => {
    for (const p of pieces) {
      events.push(p);
      if (p.type !== 'head' && p.type !== 'error') chars += p.text.length;
    }
    if (chars >= BATCH_CHARS) post();
  };
  const fd = openSync(input.file, 'r');
  try {
    let at = input.skip;
    for (;;) {
      // A fresh chunk each time: the splitter may keep a reference to it.
      const chunk = new Uint8Array(CHUNK);
      const n = readSync(fd, chunk, 0, CHUNK, at);
      if (n === 0) break;
      at += n;
      take(splitter.push(n === CHUNK ? chunk : chunk.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  take(splitter.end());
  if (events.length > 0) post();
  port.postMessage({ type: 'end' } satisfies WorkerMessage);
}

if (parentPort !== null) {
  try {
    run(parentPort, workerData as WorkerInput);
  } catch (e: unknown) {
    parentPort.postMessage({
      type: 'error',
      message: e instanceof Error ? e.message : String(e),
    } satisfies WorkerMessage);
  }
}
