// Small measuring tools for the benchmark: timers, percentiles, peak memory, tables.
import { readFileSync, writeFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

export function now(): number {
  return performance.now();
}

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = now();
  const value = fn();
  return { value, ms: now() - start };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[at] as number;
}

export interface Distribution {
  readonly n: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    n: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    meanMs: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

export function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

function statusKiB(field: string): number | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

export interface PhaseMemory {
  readonly phase: string;
  /** Peak RSS during the phase. */
  readonly peakRssMiB: number;
  /** Heap used at the end of the phase, before any gc (what the phase left, garbage included). */
  readonly heapUsedMiB: number;
  readonly rssSource: 'VmHWM' | 'sampled';
}

/**
 * Peak memory per phase of the run. RSS peak comes from the kernel's high-water mark (VmHWM), reset at
 * the start of each phase through /proc/self/clear_refs, so it sees the peak inside synchronous work
 * that no timer could sample. Heap used is read at phase ends, before any gc.
 */
export class MemoryWatch {
  private readonly resettable: boolean;
  readonly phases: PhaseMemory[] = [];

  constructor() {
    this.resettable = resetHighWaterMark();
  }

  /** Ends the current phase: records its peak and starts the next one. */
  mark(phase: string): PhaseMemory {
    const m = process.memoryUsage();
    const hwm = this.resettable ? statusKiB('VmHWM') : undefined;
    const peak = hwm === undefined ? m.rss : Math.max(m.rss, hwm * 1024);
    const result: PhaseMemory = {
      phase,
      peakRssMiB: round(peak / MiB, 1),
      heapUsedMiB: round(m.heapUsed / MiB, 1),
      rssSource: hwm === undefined ? 'sampled' : 'VmHWM',
    };
    this.phases.push(result);
    resetHighWaterMark();
    return result;
  }

  peakOf(phases: readonly string[]): { peakRssMiB: number; peakHeapUsedMiB: number } {
    const chosen = this.phases.filter((p) => phases.includes(p.phase));
    return {
      peakRssMiB: Math.max(0, ...chosen.map((p) => p.peakRssMiB)),
      peakHeapUsedMiB: Math.max(0, ...chosen.map((p) => p.heapUsedMiB)),
    };
  }
}

function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(3)} ms`;
}

export function fmtInt(n: number | undefined): string {
  return n === undefined ? '-' : Math.round(n).toLocaleString('en-US');
}

/** A plain text table: the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: readonly string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
