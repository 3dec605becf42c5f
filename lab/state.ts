/** The lab's state file (.lab/state.json): what `up` made, so `down` can remove it, also after a crash. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Enforcer, STATE_FILE } from './config.ts';

export interface ProcRecord {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): guards against pid reuse. */
  readonly startTime: number;
  readonly argv: readonly string[];
  readonly log: string;
  readonly netns?: string;
}

export interface DropFault {
  readonly netns: string;
  readonly table: string;
  readonly chain: string;
  readonly rule: readonly string[];
  readonly description: string;
}

export interface LabState {
  version: 1;
  /** Absent in a state written before the lab had a second enforcer: kube-router. */
  enforcer?: Enforcer;
  nodes: number[];
  externals: string[];
  /** The uplink the safety rules were written for (the default route's device when `up` ran). */
  uplink?: string;
  safetyRules: string[][];
  hostRoutes: string[][];
  /** Host sysctls `up` raised, with the values they had before, for `down` to put back. */
  hostSysctls: Record<string, string>;
  processes: Record<string, ProcRecord>;
  faults: { enforcerOff: string[]; drops: DropFault[] };
  timings: Record<string, number>;
}

export function emptyState(): LabState {
  return {
    version: 1,
    nodes: [],
    externals: [],
    safetyRules: [],
    hostRoutes: [],
    hostSysctls: {},
    processes: {},
    faults: { enforcerOff: [], drops: [] },
    timings: {},
  };
}

export function readState(): LabState {
  try {
    const s = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Partial<LabState>;
    return { ...emptyState(), ...s, faults: { ...emptyState().faults, ...(s.faults ?? {}) } };
  } catch {
    return emptyState();
  }
}

export function writeState(s: LabState): void {
  mkdirSync(dirname(STATE_FILE), { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, STATE_FILE);
}

/** Read-modify-write of the state file. */
export function updateState(fn: (s: LabState) => void): LabState {
  const s = readState();
  fn(s);
  writeState(s);
  return s;
}
