// Soak: `netaudit controller` with its default interval and settle, under the ServiceAccount and RBAC
// of manifests/base, on a correctly enforcing lab cluster (the seed examples plus a namespace with
// pod, label and policy churn) for --minutes. A correct cluster must never produce a mismatch: the
// run records every round's outcome, the mismatch gauges and Warning events (target: zero), the
// flaky counts, the controller's memory, and the API requests the controller made per round, counted
// from the API server's own audit log rather than from netaudit's accounting.
// Then (unless --no-fault) it turns enforcement off on one node and measures the time to the first
// alerting metric and ConnectivityMismatch event with the same default settings.
//
//   node bench/soak.ts [--minutes 60] [--churn-every 20] [--out bench/soak-results.json]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AUDIT_LOG, REPO } from '../lab/config.ts';
import { LAB_IMAGE } from '../lab/image.ts';
import { ensureLabUp, labCommand } from '../lab/lab.ts';
import { waitFor } from '../lab/sh.ts';
import { applyFile, applyText, deleteNamespaces, request, waitForPods } from '../test/e2e/support/apply.ts';
import {
  applyRbac,
  metric,
  netauditEvents,
  type RunningController,
  serviceAccountKubeconfig,
  startController,
  sumMetric,
  timeEnforcerOff,
} from '../test/e2e/support/controller.ts';
import { SEED_FILE, SEED_NAMESPACES } from '../test/e2e/support/seed.ts';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    'churn-every': { type: 'string', default: '20' },
    out: { type: 'string', default: resolve(REPO, 'bench/soak-results.json') },
    'no-fault': { type: 'boolean', default: false },
  },
});
const MINUTES = Number(opts.minutes);
const CHURN_MS = Number(opts['churn-every']) * 1000;
const NS = 'soak';
const APPS = ['web', 'api', 'db'] as const;
const log = (msg: string): void => {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function podYaml(name: string, app: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS}, labels: { app: ${app} } }
spec:
  containers: [{ name: c, image: ${LAB_IMAGE}, command: [netaudit], args: [agent, serve, --port, 80/TCP, --port, 53/UDP], ports: [{ name: http, containerPort: 80 }, { containerPort: 53, protocol: UDP }] }]
`;
}

const POLICIES: Record<string, string> = {
  'db-from-api': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-from-api, namespace: ${NS} }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: api } } }], ports: [{ port: http }] }]
`,
  'web-egress-dns': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-egress-dns, namespace: ${NS} }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Egress]
  egress: [{ ports: [{ port: 53, protocol: UDP }] }, { to: [{ podSelector: { matchLabels: { app: api } } }] }]
`,
  'api-from-team-a': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: api-from-team-a, namespace: ${NS} }
spec:
  podSelector: { matchLabels: { app: api } }
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: a } } }, { podSelector: {} }] }]
`,
};

interface Sample {
  readonly t: number;
  readonly rounds: Record<string, number>;
  readonly mismatches: number;
  readonly flaky: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
}

/** Undefined when the scrape failed: a busy controller must not read as "0 mismatches". */
async function sample(c: RunningController, t0: number): Promise<Sample | undefined> {
  const text = await c.metrics();
  if (!text.includes('netaudit_mismatches{')) return undefined;
  const rounds: Record<string, number> = {};
  for (const outcome of ['completed', 'aborted', 'failed'])
    rounds[outcome] = metric(text, 'netaudit_audit_rounds_total', { outcome }) ?? 0;
  rounds.canaryChecks = metric(text, 'netaudit_canary_checks_total', { outcome: 'completed' }) ?? 0;
  return {
    t: Math.round((Date.now() - t0) / 1000),
    rounds,
    mismatches: sumMetric(text, 'netaudit_mismatches'),
    flaky: metric(text, 'netaudit_flaky_probes_total') ?? 0,
    rssMiB: Math.round((metric(text, 'netaudit_process_resident_memory_bytes') ?? 0) / 2 ** 20),
    heapMiB: Math.round((metric(text, 'netaudit_nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20),
  };
}

/** One churn step: pods come and go, relabel, policies appear and disappear, the namespace relabels. */
class Churn {
  private n = 0;
  private step = 0;
  private readonly pods: string[] = [];
  private readonly policies = new Set<string>();
  readonly counts = { podsCreated: 0, podsDeleted: 0, relabels: 0, policyChanges: 0, namespaceRelabels: 0 };

  async next(): Promise<string> {
    const kind = this.step++ % 5;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
    if (kind === 0 || kind === 3) {
      const name = `w-${this.n++}`;
      await applyText(podYaml(name, pick(APPS)));
      this.pods.push(name);
      this.counts.podsCreated++;
      if (this.pods.length > 6) {
        const old = this.pods.shift() as string;
        await request('DELETE', `/api/v1/namespaces/${NS}/pods/${old}`).catch(() => undefined);
        this.counts.podsDeleted++;
        return `pod ${name} created, ${old} deleted`;
      }
      return `pod ${name} created`;
    }
    if (kind === 1 && this.pods.length > 0) {
      const name = pick(this.pods);
      const app = pick(APPS);
      await request(
        'PATCH',
        `/api/v1/namespaces/${NS}/pods/${name}`,
        JSON.stringify({ metadata: { labels: { app } } }),
        'application/merge-patch+json',
      );
      this.counts.relabels++;
      return `pod ${name} relabelled app=${app}`;
    }
    if (kind === 2) {
      const name = pick(Object.keys(POLICIES));
      this.counts.policyChanges++;
      if (this.policies.has(name)) {
        this.policies.delete(name);
        await request('DELETE', `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/${name}`).catch(
          () => undefined,
        );
        return `policy ${name} deleted`;
      }
      this.policies.add(name);
      await applyText(POLICIES[name] as string);
      return `policy ${name} created`;
    }
    const team = pick(['a', 'b']);
    await request(
      'PATCH',
      `/api/v1/namespaces/${NS}`,
      JSON.stringify({ metadata: { labels: { team } } }),
      'application/merge-patch+json',
    );
    this.counts.namespaceRelabels++;
    return `namespace ${NS} relabelled team=${team}`;
  }
}

interface AuditEvent {
  auditID: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp: string;
}

/** The controller's API requests in [from, to), from the API server's audit log, by verb and resource. */
function apiRequests(from: number, to: number): { total: number; byVerbResource: Record<string, number> } {
  if (!existsSync(AUDIT_LOG)) throw new Error(`${AUDIT_LOG} is missing: the lab's API server writes it`);
  const seen = new Set<string>();
  const by: Record<string, number> = {};
  for (const line of readFileSync(AUDIT_LOG, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.user.username !== 'system:serviceaccount:netaudit:netaudit' || seen.has(e.auditID)) continue;
    const at = Date.parse(e.requestReceivedTimestamp);
    if (at < from || at >= to) continue;
    seen.add(e.auditID);
    const key = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    by[key] = (by[key] ?? 0) + 1;
  }
  return {
    total: seen.size,
    byVerbResource: Object.fromEntries(Object.entries(by).sort((a, b) => b[1] - a[1])),
  };
}

async function leftoverProbePods(): Promise<number> {
  const list = (await request('GET', '/api/v1/pods?labelSelector=netaudit.io%2Fprobe')) as {
    items: unknown[];
  };
  return list.items.length;
}

async function main(): Promise<void> {
  await ensureLabUp();
  log('deploying the seed examples and the churn namespace');
  await applyFile(SEED_FILE);
  await applyText(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS}, labels: { team: a } }\n`);
  for (const [i, app] of APPS.entries()) await applyText(podYaml(`base-${i}`, app));
  await waitForPods([...SEED_NAMESPACES, NS], 180_000);
  await applyRbac();
  const kubeconfig = await serviceAccountKubeconfig();
  // Default interval (60 s) and settle (5 s); only the probe timeout is raised for the 2-core lab.
  const c = startController(kubeconfig, [], 'netaudit-soak-0');
  // Interrupted: the controller must not outlive the soak (it would keep the Lease and its port).
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      c.child.kill('SIGKILL');
      process.exit(130);
    });
  const t0 = Date.now();
  const end = t0 + MINUTES * 60_000;
  const samples: Sample[] = [];
  const churn = new Churn();
  let nonZero: { t: number; mismatches: number }[] = [];
  let scrapeFailures = 0;
  let nextChurn = t0 + 90_000; // let the first rounds run on a still cluster
  try {
    while (Date.now() < end) {
      await sleep(5_000);
      if (c.child.exitCode !== null)
        throw new Error(`controller exited (${c.child.exitCode}): ${c.log().slice(-2000)}`);
      const s = await sample(c, t0);
      if (s === undefined) {
        scrapeFailures++;
        continue;
      }
      if (s.mismatches > 0) nonZero.push({ t: s.t, mismatches: s.mismatches });
      if (samples.length === 0 || s.t - (samples.at(-1)?.t ?? 0) >= 60) {
        samples.push(s);
        log(
          `t=${s.t}s rounds=${JSON.stringify(s.rounds)} mismatches=${s.mismatches} flaky=${s.flaky} rss=${s.rssMiB}MiB`,
        );
      }
      if (Date.now() >= nextChurn) {
        nextChurn += CHURN_MS;
        try {
          log(`churn: ${await churn.next()}`);
        } catch (e) {
          log(`churn step failed (${e instanceof Error ? e.message : String(e)}); going on`);
        }
      }
    }
    const soakEnd = Date.now();
    const last =
      (await sample(c, t0)) ?? (await waitFor('a metrics scrape', () => sample(c, t0), 60_000, 1000));
    // Only this soak's: Events of earlier runs on the same lab (an hour's TTL) are not its findings.
    const warnings = (await netauditEvents()).filter(
      (e) => e.type === 'Warning' && (Date.parse(e.eventTime ?? '') || 0) >= t0 - 1000,
    );
    const requests = apiRequests(t0, soakEnd);
    const completed = last.rounds.completed ?? 0;
    const text = await c.metrics();
    const probes: Record<string, number> = {};
    for (const r of ['connected', 'refused', 'timeout', 'error'])
      probes[r] = metric(text, 'netaudit_probes_total', { result: r }) ?? 0;
    const result: Record<string, unknown> = {
      machine: { cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      settings: {
        interval: '60s (default)',
        settle: '5s (default)',
        canaryInterval: '20s (default)',
        timeout: '3s',
        churnEverySeconds: CHURN_MS / 1000,
      },
      minutes: Math.round((soakEnd - t0) / 60_000),
      rounds: last.rounds,
      mismatchSamplesNonZero: nonZero,
      scrapeFailures,
      maxMismatches: Math.max(0, ...nonZero.map((n) => n.mismatches)),
      warningEvents: warnings.map((w) => w.note),
      flakyProbes: last.flaky,
      probes,
      churn: churn.counts,
      memory: {
        rssMiBMax: Math.max(...samples.map((s) => s.rssMiB), last.rssMiB),
        rssMiBLast: last.rssMiB,
        heapMiBLast: last.heapMiB,
      },
      apiRequests: {
        total: requests.total,
        perCompletedRound: completed > 0 ? Math.round(requests.total / completed) : null,
        byVerbResource: requests.byVerbResource,
      },
      samples,
    };
    nonZero = [];
    if (!opts['no-fault']) result.fault = await measureFault(c);
    await c.stop('SIGTERM');
    await sleep(2000);
    result.leftoverProbePods = await leftoverProbePods();
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${opts.out}`);
    const { samples: _s, ...summary } = result;
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await c.stop('SIGKILL');
    writeFileSync(`${opts.out.replace(/\.json$/, '')}.controller.log`, roundLog(c.log()));
    await labCommand(['fault', 'clear']);
    await deleteNamespaces([NS]);
  }
}

/** The controller's warnings and its per-round summaries: what explains an aborted round or a finding. */
function roundLog(text: string): string {
  const keep =
    /"level":([4-6]\d)|"msg":"(round completed|canary check completed|round ended without results)"/;
  return text
    .split('\n')
    .filter((line) => keep.test(line))
    .join('\n');
}

/** enforcer-off on one node, default settings: time to the first alerting metric and event. */
async function measureFault(c: RunningController): Promise<Record<string, number | string>> {
  const node = 'nalab-node-1';
  log(`fault: enforcer-off on ${node}`);
  // Events every 5 s: a list every second, of thousands of Events, disturbed the 2-core lab once.
  const t = await timeEnforcerOff(() => c.metrics(), {
    node,
    timeoutMs: 300_000,
    eventPollMs: 5000,
    eventGraceMs: 300_000,
    backTimeoutMs: 300_000,
  });
  log(
    `fault: metric after ${t.metricMs} ms, event after ${t.event?.ms} ms, back to 0 after ${t.backToZeroMs} ms`,
  );
  const checks = (text: string | undefined) =>
    text === undefined ? 0 : (metric(text, 'netaudit_canary_checks_total', { outcome: 'completed' }) ?? 0);
  return {
    node,
    firstAlertingMetricMs: t.metricMs ?? 'not within 300 s',
    firstEventMs: t.event?.ms ?? 'not within 300 s',
    backToZeroAfterClearMs: t.backToZeroMs ?? 'not within 300 s',
    canaryChecksCompletedAtDetection: checks(t.metricsAtDetection),
  };
}

await main();
