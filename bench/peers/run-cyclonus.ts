// Runs cyclonus (the analysis peer) on the benchmark's synthetic clusters, and checks its answers
// against `netaudit analyze` on one small cluster.
//
//   node bench/peers/run-cyclonus.ts [--sizes 200,1k,10k] [--timeout-s 600] [--max-rss-mib 8192]
//        [--agree 200] [--seed 1] [--work-dir DIR] [--out bench/peers/cyclonus-results.json]
//
// Build the binary first: bench/peers/build-cyclonus.sh.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCluster, parseShape, type SyntheticCluster } from '../synthetic.ts';
import { CYCLONUS_VERSION, type CyclonusVerdict, type PeerResult, runCyclonus } from './cyclonus.ts';

const REPO = resolve(import.meta.dirname, '../..');

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '200,1k,10k' },
    'timeout-s': { type: 'string', default: '600' },
    'max-rss-mib': { type: 'string', default: '8192' },
    agree: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    'work-dir': { type: 'string' },
    out: { type: 'string', default: join(REPO, 'bench/peers/cyclonus-results.json') },
  },
});
const timeoutMs = Number(values['timeout-s']) * 1000;
const maxRssMiB = Number(values['max-rss-mib']);
const seed = Number(values.seed);
const workRoot = values['work-dir'] ?? mkdtempSync(join(tmpdir(), 'netaudit-cyclonus-'));

interface NetauditVerdict {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly allowed: boolean;
}

interface Disagreement {
  readonly from: string;
  readonly to: string;
  readonly port: string;
  readonly netaudit: boolean;
  readonly cyclonus: boolean;
}

interface Agreement {
  readonly size: string;
  readonly compared: number;
  readonly agree: number;
  readonly disagree: number;
  /** Disagreements by port and direction of the difference. */
  readonly byKind: Record<string, number>;
  readonly examples: readonly Disagreement[];
  /** netaudit verdicts cyclonus has no cell for (ports no destination pod serves, external IPs). */
  readonly netauditOnly: number;
  /** cyclonus verdicts netaudit does not report (self-pairs). */
  readonly cyclonusOnly: number;
}

function key(from: string, to: string, port: number, protocol: string): string {
  return `${from}>${to}>${port}/${protocol}`;
}

/** `netaudit analyze -o json` on the cluster written as one JSON List, as a user would run it. */
async function netauditVerdicts(cluster: SyntheticCluster, dir: string): Promise<NetauditVerdict[]> {
  const file = join(dir, 'cluster.json');
  const items = [...cluster.namespaces, ...cluster.pods, ...cluster.policies];
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const outPath = join(dir, 'netaudit.json');
  const out = openSync(outPath, 'w');
  const child = spawn(join(REPO, 'bin/netaudit'), ['analyze', '-f', file, '-o', 'json'], {
    stdio: ['ignore', out, 'inherit'],
  });
  closeSync(out);
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('exit', done);
  });
  if (code !== 0) throw new Error(`netaudit analyze exited with ${code}`);
  const parsed = JSON.parse(readFileSync(outPath, 'utf8')) as { verdicts: NetauditVerdict[] };
  return parsed.verdicts;
}

async function agreement(size: string, dir: string): Promise<{ result: PeerResult; agreement?: Agreement }> {
  const cluster = generateCluster(parseShape(size), seed);
  const cyclonus = new Map<string, boolean>();
  const result = await runCyclonus(cluster, {
    workDir: join(dir, 'cyclonus'),
    timeoutMs,
    maxRssMiB,
    onVerdict: (v: CyclonusVerdict) => cyclonus.set(key(v.from, v.to, v.port, v.protocol), v.allowed),
  });
  if (!result.ok) return { result };
  const netaudit = await netauditVerdicts(cluster, dir);
  let compared = 0;
  let agree = 0;
  let netauditOnly = 0;
  const seen = new Set<string>();
  const byKind: Record<string, number> = {};
  const examples: Disagreement[] = [];
  for (const v of netaudit) {
    const k = key(v.from, v.to, v.port, v.protocol);
    const theirs = cyclonus.get(k);
    if (theirs === undefined) {
      netauditOnly++;
      continue;
    }
    seen.add(k);
    compared++;
    if (theirs === v.allowed) {
      agree++;
      continue;
    }
    const kind = `${v.port}/${v.protocol} netaudit ${v.allowed ? 'allow' : 'deny'}, cyclonus ${theirs ? 'allow' : 'deny'}`;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (examples.length < 20) {
      examples.push({
        from: v.from,
        to: v.to,
        port: `${v.port}/${v.protocol}`,
        netaudit: v.allowed,
        cyclonus: theirs,
      });
    }
  }
  const cyclonusOnly = cyclonus.size - seen.size;
  return {
    result,
    agreement: {
      size,
      compared,
      agree,
      disagree: compared - agree,
      byKind,
      examples,
      netauditOnly,
      cyclonusOnly,
    },
  };
}

async function main(): Promise<void> {
  const sizes = values.sizes.split(',').filter((s) => s.length > 0);
  const runs: { size: string; pods: number; namespaces: number; policies: number; result: PeerResult }[] = [];
  let agreed: Agreement | undefined;
  for (const size of sizes) {
    const shape = parseShape(size);
    const dir = join(workRoot, size);
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`cyclonus ${CYCLONUS_VERSION} at ${size} (${shape.pods} pods)…\n`);
    let result: PeerResult;
    if (size === values.agree) {
      const a = await agreement(size, dir);
      result = a.result;
      agreed = a.agreement;
    } else {
      result = await runCyclonus(generateCluster(shape, seed), { workDir: dir, timeoutMs, maxRssMiB });
    }
    process.stderr.write(`  ${JSON.stringify(result)}\n`);
    runs.push({ size, ...shape, result });
    rmSync(dir, { recursive: true, force: true });
  }
  const report = {
    peer: `cyclonus ${CYCLONUS_VERSION}`,
    date: new Date().toISOString(),
    seed,
    timeoutMs,
    maxRssMiB,
    runs,
    agreement: agreed,
  };
  writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (values['work-dir'] === undefined) rmSync(workRoot, { recursive: true, force: true });
}

await main();
