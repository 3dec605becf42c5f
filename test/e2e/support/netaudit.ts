// Runs bin/netaudit against the lab as a user would (a child process, KUBECONFIG set) and parses JSON.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { KUBECONFIG, REPO } from '../../../lab/config.ts';
import { LAB_IMAGE } from '../../../lab/image.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The cluster a run talks to, and the probe image it uses: the lab's unless said otherwise. */
export interface Target {
  readonly kubeconfig: string;
  readonly image: string;
}

const LAB: Target = { kubeconfig: KUBECONFIG, image: LAB_IMAGE };

/** Starts bin/netaudit as a user would (KUBECONFIG set, not a TTY): its result, and a way to kill it. */
export function startNetaudit(
  args: readonly string[],
  target: Target = LAB,
): {
  done: Promise<Run>;
  kill: (signal?: NodeJS.Signals) => void;
} {
  const child = spawn(resolve(REPO, 'bin/netaudit'), args, {
    env: { ...process.env, KUBECONFIG: target.kubeconfig, NETAUDIT_IMAGE: target.image, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<Run>((ok) => child.on('close', (code) => ok({ code, stdout, stderr })));
  return { done, kill: (signal = 'SIGKILL') => child.kill(signal) };
}

export async function netaudit(
  args: readonly string[],
  timeoutMs = 300_000,
  target: Target = LAB,
): Promise<Run> {
  const run = startNetaudit(args, target);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      run.kill();
      fail(new Error(`netaudit ${args.join(' ')} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ProbeRecord {
  from: string;
  to: string;
  port: number;
  protocol: string;
  srcNode: string;
  dstNode?: string;
  expected: 'allow' | 'deny';
  egressAllowed: boolean;
  ingressAllowed: boolean;
  observed: string;
  fromClass: string;
  toClass?: string;
}

export interface AuditJson {
  summary: {
    probes: number;
    mismatches: number;
    unexpectedAllow: number;
    unexpectedDeny: number;
    flaky: number;
    skipped: number;
    inconclusive: number;
  };
  mismatches: {
    from: string;
    to: string;
    port: number;
    protocol: string;
    expected: string;
    observed: string;
    kind: string;
    because: string[];
    nodes: string[];
    srcNode: string;
    dstNode?: string;
  }[];
  probes?: ProbeRecord[];
  nodes: {
    name: string;
    status: string;
    probes: number;
    unexpectedAllow: number;
    unexpectedDeny: number;
    inconclusive: number;
    reason: string;
  }[];
  failedPods: unknown[];
  inconclusive: unknown[];
  flaky: unknown[];
}

export function parseAudit(run: Run): AuditJson {
  try {
    return JSON.parse(run.stdout) as AuditJson;
  } catch {
    throw new Error(`netaudit audit printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

export function flowKey(p: {
  from: string;
  to: string;
  port: number;
  protocol: string;
  srcNode: string;
  dstNode?: string | undefined;
}): string {
  return `${p.from} -> ${p.to} ${p.port}/${p.protocol} (${p.srcNode} -> ${p.dstNode ?? 'external'})`;
}
