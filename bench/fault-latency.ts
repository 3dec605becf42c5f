// Fault to alert, default settings: `netaudit controller` with its default interval (60 s), settle
// (5 s) and canary interval (20 s), under the ServiceAccount and RBAC of manifests/base, on the lab
// with the seed examples deployed (so full rounds take as long as they do on a busy namespace set).
// Each trial waits a random time (uniform in [0, 60 s), so the fault lands anywhere in the round
// cycle), turns enforcement off on one node, and measures the time to the first alerting metric
// (`netaudit_mismatches{kind="unexpected-allow"}` > 0) and to the first ConnectivityMismatch Event
// naming the node; then clears the fault and measures the time back to 0.
//
//   node bench/fault-latency.ts [--trials 5] [--no-seed] [--out bench/fault-latency-results.json]
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../lab/config.ts';
import { ensureLabUp, labCommand } from '../lab/lab.ts';
import { sleep, waitFor } from '../lab/sh.ts';
import { applyFile, waitForPods } from '../test/e2e/support/apply.ts';
import {
  applyRbac,
  metric,
  type RunningController,
  serviceAccountKubeconfig,
  startController,
  timeEnforcerOff,
} from '../test/e2e/support/controller.ts';
import { SEED_FILE, SEED_NAMESPACES } from '../test/e2e/support/seed.ts';

const { values: opts } = parseArgs({
  options: {
    trials: { type: 'string', default: '5' },
    'no-seed': { type: 'boolean', default: false },
    out: { type: 'string', default: resolve(REPO, 'bench/fault-latency-results.json') },
  },
});
const TRIALS = Number(opts.trials);
const NODE = 'nalab-node-1';
const log = (msg: string): void => {
  process.stderr.write(`[fault-latency ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

interface Trial {
  readonly delayMs: number;
  readonly metricMs: number | null;
  readonly eventMs: number | null;
  /** Which kind of run reported it first: the counters that moved while waiting. */
  readonly caughtBy: 'canary check' | 'full round' | 'unknown';
  readonly backToZeroMs: number | null;
}

const count = async (c: RunningController, name: string): Promise<number> =>
  metric(await c.metrics(), name, { outcome: 'completed' }) ?? 0;

async function trial(c: RunningController, delayMs: number): Promise<Trial> {
  await sleep(delayMs);
  const roundsBefore = await count(c, 'netaudit_audit_rounds_total');
  const checksBefore = await count(c, 'netaudit_canary_checks_total');
  // The metrics endpoint is cheap: poll it often. Events are listed every 2 s (they follow the gauge).
  const t = await timeEnforcerOff(() => c.metrics(), {
    node: NODE,
    timeoutMs: 180_000,
    pollMs: 250,
    eventPollMs: 2000,
    backTimeoutMs: 240_000,
  });
  const moved = (name: string, before: number): boolean =>
    t.metricsAtDetection !== undefined &&
    (metric(t.metricsAtDetection, name, { outcome: 'completed' }) ?? 0) > before;
  const caughtBy: Trial['caughtBy'] = moved('netaudit_canary_checks_total', checksBefore)
    ? 'canary check'
    : moved('netaudit_audit_rounds_total', roundsBefore)
      ? 'full round'
      : 'unknown';
  return {
    delayMs,
    metricMs: t.metricMs,
    eventMs: t.event?.ms ?? null,
    caughtBy,
    backToZeroMs: t.backToZeroMs,
  };
}

function stats(values: readonly (number | null)[]): Record<string, number | null> {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, min: null, median: null, max: null };
  return {
    n: v.length,
    min: v[0] ?? null,
    median: v[Math.floor((v.length - 1) / 2)] ?? null,
    max: v.at(-1) ?? null,
  };
}

async function main(): Promise<void> {
  await ensureLabUp();
  await labCommand(['fault', 'clear']);
  if (!opts['no-seed']) {
    log('deploying the seed examples');
    await applyFile(SEED_FILE);
    await waitForPods([...SEED_NAMESPACES], 180_000);
  }
  await applyRbac();
  const kubeconfig = await serviceAccountKubeconfig();
  // Default interval, settle and canary interval; only the probe timeout is raised for the 2-core lab.
  const c = startController(kubeconfig, [], 'netaudit-fault-0');
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      c.child.kill('SIGKILL');
      void labCommand(['fault', 'clear']).finally(() => process.exit(130));
    });
  const trials: Trial[] = [];
  try {
    await waitFor(
      'two clean full rounds',
      async () => (await count(c, 'netaudit_audit_rounds_total')) >= 2,
      300_000,
      1000,
    );
    for (let i = 0; i < TRIALS; i++) {
      const t = await trial(c, Math.floor(Math.random() * 60_000));
      trials.push(t);
      log(`trial ${i + 1}/${TRIALS}: ${JSON.stringify(t)}`);
    }
    const text = await c.metrics();
    const result = {
      machine: { cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      settings: {
        interval: '60s',
        settle: '5s',
        canaryInterval: '20s',
        timeout: '3s',
        seed: !opts['no-seed'],
      },
      target: 'caught within 2 rounds and 60 s',
      metricMs: stats(trials.map((t) => t.metricMs)),
      eventMs: stats(trials.map((t) => t.eventMs)),
      backToZeroMs: stats(trials.map((t) => t.backToZeroMs)),
      withinTarget: trials.filter((t) => t.metricMs !== null && t.metricMs <= 60_000).length,
      trials,
      roundSeconds: {
        count: metric(text, 'netaudit_audit_round_duration_seconds_count') ?? 0,
        sum: metric(text, 'netaudit_audit_round_duration_seconds_sum') ?? 0,
      },
      canaryChecks: metric(text, 'netaudit_canary_checks_total', { outcome: 'completed' }) ?? 0,
      events: Object.fromEntries(
        ['created', 'series_updated', 'restored', 'deferred', 'error'].map((o) => [
          o,
          metric(text, 'netaudit_events_total', { outcome: o }) ?? 0,
        ]),
      ),
    };
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    const { trials: _t, ...summary } = result;
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    log(`wrote ${opts.out}`);
  } finally {
    await c.stop('SIGTERM');
    await labCommand(['fault', 'clear']);
  }
}

await main();
