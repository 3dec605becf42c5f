// cyclonus (github.com/mattfenwick/cyclonus) as the benchmark's analysis peer: the same synthetic
// cluster, written in cyclonus's input format, analysed offline by `cyclonus analyze --mode probe`.
//
// What cyclonus computes there (read from v0.5.6's source, see README.md beside this file): for each
// probe (one port and protocol) in its model file, every ordered pair of the model's pods, self-pairs
// included, evaluated against the policies read from --policy-path; it prints three N x N tables per
// probe (ingress, egress, combined). A cell is `.` (allowed), `X` (blocked), or `N` / `P` when the
// destination does not serve the probed port (no verdict). Its cost and memory grow with N^2 per
// probe: it builds every pair's job before evaluating any.
//
// The binary comes from bench/peers/build-cyclonus.sh (a version-keyed cache outside the repository).
import { spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import type { NetworkPolicy, Pod } from '../../src/core/k8s.ts';
import { NAMESPACE_NAME_LABEL } from '../../src/core/k8s.ts';
import type { SyntheticCluster } from '../synthetic.ts';

export const CYCLONUS_VERSION = 'v0.5.6';

export type PeerResult =
  | { ok: true; wallMs: number; peakRssMiB: number; verdicts: number; how: string }
  | { ok: false; reason: string; wallMs: number };

/** One verdict cell of cyclonus's combined table. */
export interface CyclonusVerdict {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly allowed: boolean;
}

export interface CyclonusOptions {
  readonly workDir: string;
  readonly timeoutMs: number;
  /** Default: the build script's cache path (NETAUDIT_CACHE, else /var/cache/netaudit). */
  readonly binary?: string;
  /**
   * cyclonus is killed when its resident memory passes this (default 8192 MiB): at 10k pods its
   * N^2 job list alone would need tens of GiB, and the machine is shared with other builds and runs;
   * a timeout alone would let it push everything else into swapless OOM first.
   */
  readonly maxRssMiB?: number;
  /** Called for every verdict after the run (for agreement checks); parsing is not in wallMs. */
  readonly onVerdict?: (verdict: CyclonusVerdict) => void;
  /** Keep cyclonus's stdout (its tables can be GiBs at 1k pods); default: deleted after parsing. */
  readonly keepOutput?: boolean;
}

export function cyclonusBinary(): string {
  return join(
    process.env.NETAUDIT_CACHE ?? '/var/cache/netaudit',
    `cyclonus-${CYCLONUS_VERSION}`,
    'bin',
    'cyclonus',
  );
}

// cyclonus's probe model file (cli.SyntheticProbeConnectivityConfig, decoded by encoding/json).
interface ModelContainer {
  readonly Name: string;
  readonly Port: number;
  readonly Protocol: string;
  readonly PortName: string;
}
interface ModelPod {
  readonly Namespace: string;
  readonly Name: string;
  readonly Labels: Record<string, string>;
  readonly IP: string;
  readonly Containers: ModelContainer[];
}
interface ModelProbe {
  readonly Protocol: string;
  readonly Port: number;
}
interface Model {
  readonly Resources: {
    readonly Namespaces: Record<string, Record<string, string>>;
    readonly Pods: ModelPod[];
  };
  readonly Probes: ModelProbe[];
}

/** What was written for cyclonus: the model, and the pod keys in the order its tables use. */
interface WrittenInput {
  readonly policyDir: string;
  readonly modelPath: string;
  readonly probes: readonly ModelProbe[];
  /** `ns/pod`, sorted as Go sorts strings (bytewise): the row and column order of every table. */
  readonly podKeys: readonly string[];
}

// The same endpoints netaudit probes: pods without an IP, finished pods and host-network pods are
// not endpoints. cyclonus would also fail on them (an ipBlock check of an empty IP panics).
function isEndpoint(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return (
    Boolean(pod.status?.podIP) && phase !== 'Succeeded' && phase !== 'Failed' && pod.spec.hostNetwork !== true
  );
}

function toModelPod(pod: Pod): ModelPod {
  const containers: ModelContainer[] = [];
  // A cyclonus container serves exactly one port, so each container port becomes one.
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      containers.push({
        Name: `${c.name}-${p.containerPort}-${protocol.toLowerCase()}`,
        Port: p.containerPort,
        Protocol: protocol,
        PortName: p.name ?? '',
      });
    }
  }
  // A pod with no port is still a source; cyclonus takes every job's source container from
  // Containers[0], so it needs one. Port 0 is never probed.
  if (containers.length === 0) containers.push({ Name: 'source', Port: 0, Protocol: 'TCP', PortName: '' });
  return {
    Namespace: pod.metadata.namespace ?? 'default',
    Name: pod.metadata.name ?? '',
    Labels: { ...(pod.metadata.labels ?? {}) },
    IP: pod.status?.podIP ?? '',
    Containers: containers,
  };
}

// cyclonus refuses a policy without policyTypes (its file reader does not default them), so such a
// policy gets the API server's defaulting, which netaudit also applies to policies read from files.
function withPolicyTypes(policy: NetworkPolicy): NetworkPolicy {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) return policy;
  const types = (policy.spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  return { ...policy, spec: { ...policy.spec, policyTypes: types } };
}

/** Writes the cluster as cyclonus reads it: one policy YAML per file, pods and namespaces in a model. */
export function writeCyclonusInput(cluster: SyntheticCluster, workDir: string): WrittenInput {
  const policyDir = join(workDir, 'policies');
  rmSync(policyDir, { recursive: true, force: true });
  mkdirSync(policyDir, { recursive: true });
  cluster.policies.forEach((policy, i) => {
    const name = `${String(i).padStart(6, '0')}-${policy.metadata.namespace ?? 'default'}-${policy.metadata.name ?? ''}.yaml`;
    writeFileSync(join(policyDir, name), stringify(withPolicyTypes(policy)));
  });

  const namespaces: Record<string, Record<string, string>> = {};
  for (const ns of cluster.namespaces) {
    const name = ns.metadata.name ?? '';
    // The API server puts the name label on every namespace; cyclonus matches labels only.
    namespaces[name] = { ...(ns.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
  }
  const pods = cluster.pods.filter(isEndpoint).map(toModelPod);
  for (const p of pods) namespaces[p.Namespace] ??= { [NAMESPACE_NAME_LABEL]: p.Namespace };

  // One probe per port and protocol some pod serves: a probe on a port the destination does not
  // serve gives no verdict (`N`), so these are exactly the ports that give verdicts.
  const served = new Map<string, ModelProbe>();
  for (const p of pods) {
    for (const c of p.Containers) {
      if (c.Port > 0) served.set(`${c.Protocol}/${c.Port}`, { Protocol: c.Protocol, Port: c.Port });
    }
  }
  const probes = [...served.values()].sort((a, b) =>
    a.Protocol === b.Protocol ? a.Port - b.Port : a.Protocol < b.Protocol ? -1 : 1,
  );

  const model: Model = { Resources: { Namespaces: namespaces, Pods: pods }, Probes: probes };
  const modelPath = join(workDir, 'model.json');
  writeFileSync(modelPath, JSON.stringify(model));
  const podKeys = pods.map((p) => `${p.Namespace}/${p.Name}`).sort(bytewise);
  return { policyDir, modelPath, probes, podKeys };
}

function bytewise(a: string, b: string): number {
  // Go's sort.Strings compares bytes; for the ASCII of Kubernetes names, code units compare alike.
  return a < b ? -1 : a > b ? 1 : 0;
}

interface ChildRun {
  readonly wallMs: number;
  readonly peakRssMiB: number;
  /** User + system CPU as last polled: robust to other load on the machine, unlike wall time. */
  readonly cpuMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly killedFor?: string;
}

/** The kB value of a `/proc/PID/status` field, or undefined once the process is gone. */
function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

// Linux reports CPU times in /proc in clock ticks of USER_HZ, 100 on every architecture Node runs on.
const USER_HZ = 100;

/** User + system CPU milliseconds of a process (all its threads), or undefined once it is gone. */
function cpuMs(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime
  // are fields 14 and 15 of the line, 12 and 13 after the closing parenthesis.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1000) / USER_HZ : undefined;
}

/**
 * Runs a command with stdout and stderr to files (no pipe, so our reading never slows it), timing it
 * from spawn to exit and polling its peak resident set (VmHWM) every 20 ms: GNU time is not on every
 * machine, and VmHWM is a high-water mark, so a poll that misses a short peak still reads it later.
 */
function runMeasured(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  stdoutPath: string,
  stderrPath: string,
  timeoutMs: number,
  maxRssMiB: number,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const out = openSync(stdoutPath, 'w');
    const err = openSync(stderrPath, 'w');
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', out, err], env });
    closeSync(out);
    closeSync(err);
    let peakKb = 0;
    let cpu = 0;
    let killedFor: string | undefined;
    const kill = (why: string): void => {
      if (killedFor !== undefined) return;
      killedFor = why;
      child.kill('SIGKILL');
    };
    const poll = setInterval(() => {
      const pid = child.pid;
      if (pid === undefined) return;
      peakKb = Math.max(peakKb, statusKb(pid, 'VmHWM') ?? 0);
      cpu = Math.max(cpu, cpuMs(pid) ?? 0);
      const rss = statusKb(pid, 'VmRSS');
      if (rss !== undefined && rss / 1024 > maxRssMiB) kill(`resident memory passed ${maxRssMiB} MiB`);
    }, 20);
    const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms`), timeoutMs);
    child.once('error', (e) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      const wallMs = performance.now() - start;
      clearInterval(poll);
      clearTimeout(timer);
      const run = { wallMs, peakRssMiB: peakKb / 1024, cpuMs: cpu, code, signal };
      resolve(killedFor === undefined ? run : { ...run, killedFor });
    });
  });
}

interface Tally {
  allowed: number;
  blocked: number;
  /** Self-pair verdicts (from = to): cyclonus evaluates them, netaudit does not report them. */
  self: number;
  /** `N` and `P` cells: the destination does not serve the probed port. */
  noPort: number;
  other: number;
  tables: number;
}

/**
 * Reads the combined tables from cyclonus's stdout. Rows and columns are the pods in sorted order,
 * the first cell of a row names its source; the header is upper-cased by the table writer, so the
 * columns are taken from the sorted keys instead and each row's name is checked against them.
 */
async function readCombinedTables(
  outPath: string,
  input: WrittenInput,
  onVerdict: ((v: CyclonusVerdict) => void) | undefined,
): Promise<Tally> {
  const tally: Tally = { allowed: 0, blocked: 0, self: 0, noPort: 0, other: 0, tables: 0 };
  const lines = createInterface({ input: createReadStream(outPath), crlfDelay: Number.POSITIVE_INFINITY });
  let inCombined = false;
  let combinedIndex = -1;
  let headerSeen = false;
  let row = 0;
  for await (const line of lines) {
    if (line === 'Ingress:' || line === 'Egress:') {
      inCombined = false;
      continue;
    }
    if (line === 'Combined:') {
      inCombined = true;
      combinedIndex++;
      headerSeen = false;
      row = 0;
      continue;
    }
    // After the model's probes cyclonus runs one more over the pods it read from a cluster: none
    // here, so an empty table, skipped.
    if (!inCombined || combinedIndex >= input.probes.length || !line.startsWith('|')) continue;
    if (!headerSeen) {
      headerSeen = true;
      tally.tables++;
      continue;
    }
    const probe = input.probes[combinedIndex] as ModelProbe;
    const cells = line.split('|');
    const from = (cells[1] ?? '').trim();
    if (from !== input.podKeys[row]) {
      throw new Error(
        `cyclonus table ${combinedIndex}, row ${row}: "${from}", expected "${input.podKeys[row]}"`,
      );
    }
    for (let col = 0; col < input.podKeys.length; col++) {
      const cell = (cells[col + 2] ?? '').trim();
      const to = input.podKeys[col] as string;
      if (cell === '.' || cell === 'X') {
        const allowed = cell === '.';
        if (allowed) tally.allowed++;
        else tally.blocked++;
        if (from === to) tally.self++;
        onVerdict?.({ from, to, port: probe.Port, protocol: probe.Protocol, allowed });
      } else if (cell === 'N' || cell === 'P') tally.noPort++;
      else tally.other++;
    }
    row++;
  }
  return tally;
}

/**
 * How far a killed run got: cyclonus logs `probe on port …` once a probe's pairs are evaluated,
 * before printing its tables.
 */
function probesDone(errPath: string): number {
  try {
    return readFileSync(errPath, 'utf8')
      .split('\n')
      .filter((l) => l.includes('msg="probe on port')).length;
  } catch {
    return 0;
  }
}

function tail(path: string, chars: number): string {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text.length > chars ? `…${text.slice(-chars)}` : text;
  } catch {
    return '';
  }
}

export async function runCyclonus(cluster: SyntheticCluster, options: CyclonusOptions): Promise<PeerResult> {
  const binary = options.binary ?? cyclonusBinary();
  if (!existsSync(binary)) {
    return { ok: false, reason: `${binary} is missing: run bench/peers/build-cyclonus.sh`, wallMs: 0 };
  }
  mkdirSync(options.workDir, { recursive: true });
  const input = writeCyclonusInput(cluster, options.workDir);
  const args = [
    'analyze',
    '--mode',
    'probe',
    '--policy-path',
    input.policyDir,
    '--probe-path',
    input.modelPath,
  ];
  // No cluster: cyclonus reads one only with --namespace or --all-namespaces, and with neither
  // kubeconfig nor a home holding one, it could not find any even by mistake.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.workDir,
    KUBECONFIG: '/nonexistent',
  };
  const outPath = join(options.workDir, 'cyclonus.out');
  const errPath = join(options.workDir, 'cyclonus.err');
  // Other builds share the machine: the load says how much of the wall time was waiting for a core.
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  const run = await runMeasured(
    binary,
    args,
    env,
    outPath,
    errPath,
    options.timeoutMs,
    options.maxRssMiB ?? 8192,
  );
  const wallMs = Math.round(run.wallMs);
  const peak = Math.round(run.peakRssMiB);
  if (run.killedFor !== undefined) {
    if (!options.keepOutput) rmSync(outPath, { force: true });
    const at =
      `${probesDone(errPath)} of ${input.probes.length} probes evaluated, peak RSS ${peak} MiB, ` +
      `CPU ${Math.round(run.cpuMs)} ms when killed; load average ${load} at start`;
    return { ok: false, reason: `${run.killedFor} (${at})`, wallMs };
  }
  if (run.code !== 0) {
    if (!options.keepOutput) rmSync(outPath, { force: true });
    const why = run.signal ? `signal ${run.signal}` : `exit code ${run.code}`;
    return { ok: false, reason: `cyclonus failed (${why}): ${tail(errPath, 600)}`, wallMs };
  }
  const tally = await readCombinedTables(outPath, input, options.onVerdict);
  if (!options.keepOutput) rmSync(outPath, { force: true });
  const n = input.podKeys.length;
  const cells = tally.allowed + tally.blocked + tally.noPort + tally.other;
  if (tally.tables !== input.probes.length || cells !== input.probes.length * n * n) {
    return {
      ok: false,
      reason: `unexpected output: ${tally.tables} tables and ${cells} cells for ${input.probes.length} probes of ${n} pods`,
      wallMs,
    };
  }
  const verdicts = tally.allowed + tally.blocked;
  const probes = input.probes.map((p) => `${p.Port}/${p.Protocol}`).join(', ');
  const how =
    `cyclonus analyze --mode probe: ${input.probes.length} probes (${probes}) x ${n}x${n} pod pairs; ` +
    `verdicts = allowed ${tally.allowed} + blocked ${tally.blocked} cells of the combined tables ` +
    `(${tally.self} of them self-pairs), ${tally.noPort} cells without a verdict (destination does not serve the port); ` +
    `CPU ${Math.round(run.cpuMs)} ms, load average ${load} at start`;
  return { ok: true, wallMs, peakRssMiB: peak, verdicts, how };
}
