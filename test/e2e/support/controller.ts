// Runs `netaudit controller` in the lab as its Deployment would: under the ServiceAccount and RBAC of
// manifests/base (a token from the TokenRequest API, not the admin kubeconfig).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { API_SERVER, PKI_DIR, REPO } from '../../../lab/config.ts';
import { LAB_IMAGE } from '../../../lab/image.ts';
import { labCommand, labEnforcer } from '../../../lab/lab.ts';
import { sleep, waitFor } from '../../../lab/sh.ts';
import { writeTokenKubeconfig } from '../../support/kubeconfig.ts';
import { applyFile, request } from './apply.ts';

const MANIFESTS = resolve(REPO, 'manifests/base');

/** Applies the namespace, ServiceAccount and RBAC of manifests/base (not the Deployment). */
export async function applyRbac(): Promise<void> {
  for (const f of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) await applyFile(join(MANIFESTS, f));
}

/** A short-lived token of the netaudit ServiceAccount (TokenRequest API). */
export async function serviceAccountToken(): Promise<string> {
  const tr = (await request(
    'POST',
    '/api/v1/namespaces/netaudit/serviceaccounts/netaudit/token',
    JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 7200 },
    }),
  )) as { status: { token: string } };
  return tr.status.token;
}

/** A kubeconfig holding a short-lived token of the netaudit ServiceAccount. */
export async function serviceAccountKubeconfig(): Promise<string> {
  const token = await serviceAccountToken();
  const ca = readFileSync(resolve(PKI_DIR, 'ca.crt')).toString('base64');
  return writeTokenKubeconfig({ cluster: 'lab', server: API_SERVER, caData: ca, token });
}

export interface RunningController {
  readonly child: ChildProcess;
  readonly port: number;
  readonly log: () => string;
  metrics(): Promise<string>;
  ready(): Promise<{ status: number; body: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let nextPort = 19190;

export function startController(
  kubeconfig: string,
  args: readonly string[],
  name = 'netaudit-e2e-0',
  image = LAB_IMAGE,
): RunningController {
  const port = nextPort++;
  let log = '';
  const child = spawn(
    resolve(REPO, 'bin/netaudit'),
    [
      'controller',
      '--kubeconfig',
      kubeconfig,
      '--listen',
      `127.0.0.1:${port}`,
      '--image',
      image,
      '--profile',
      labEnforcer(),
      '--timeout',
      '3s',
      ...args,
    ],
    {
      env: { ...process.env, POD_NAME: name, POD_NAMESPACE: 'netaudit', NETAUDIT_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: r.status, body: await r.text() };
    } catch {
      return { status: 0, body: '' };
    }
  };
  return {
    child,
    port,
    log: () => log,
    metrics: async () => (await get('/metrics')).body,
    ready: () => get('/readyz'),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** The value of one series, or undefined. `netaudit_audit_rounds_total{outcome="completed"}` */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface EventItem {
  reason: string;
  type: string;
  note: string;
  regarding: { kind: string; namespace?: string; name: string };
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  reportingInstance?: string;
  series?: { count: number; lastObservedTime?: string };
  eventTime?: string;
}

export async function netauditEvents(): Promise<EventItem[]> {
  const list = (await request('GET', '/apis/events.k8s.io/v1/events')) as {
    items: (EventItem & { reportingController?: string })[];
  };
  return list.items.filter((e) => e.reportingController === 'netaudit.io/controller');
}

export interface EnforcerOffTiming {
  /** From `fault enforcer-off` to the unexpected-allow gauge above 0; null: not within the timeout. */
  readonly metricMs: number | null;
  /** To the first ConnectivityMismatch Event naming the node; null: not seen. */
  readonly event: { readonly ms: number; readonly item: EventItem } | null;
  /** The metrics when the gauge went up (which counters had moved tells who caught it). */
  readonly metricsAtDetection: string | undefined;
  /** From `fault clear` to every netaudit_mismatches series at 0; null: not within backTimeoutMs. */
  readonly backToZeroMs: number | null;
  /**
   * To `netaudit_node_enforcing{node}` at 0, with every node's value then; null: not within the
   * timeout (and the Event grace after the mismatch gauge).
   */
  readonly node: { readonly ms: number; readonly gauges: Readonly<Record<string, number>> } | null;
  /** To a Warning NodeNotEnforcing regarding the Node; null: not seen. */
  readonly nodeEvent: { readonly ms: number; readonly item: EventItem } | null;
  /** From `fault clear` to the node's gauge at 1 and a Normal NodeEnforcing regarding it; null: not seen. */
  readonly nodeRecoveredMs: number | null;
}

/** `netaudit_node_enforcing` per node, from a scrape. */
export function nodeGauges(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^netaudit_node_enforcing\{node="([^"]+)"\} (\S+)$/gm))
    if (m[1] !== undefined) out[m[1]] = Number(m[2]);
  return out;
}

function nodeEventOf(
  items: readonly EventItem[],
  reason: string,
  node: string,
  since: number,
): EventItem | undefined {
  return items.find(
    (e) =>
      e.reason === reason &&
      e.regarding.kind === 'Node' &&
      e.regarding.name === node &&
      writtenSince(e, since),
  );
}

/**
 * Turns enforcement off on a node and times how the controller reports it: the unexpected-allow gauge
 * above 0 (`metrics` reads the reporting replica), then a ConnectivityMismatch Event naming the node
 * (a run writes its Events after the gauge; Events are listed every `eventPollMs`, since listing
 * thousands of them loads a small lab). The fault is cleared whatever happens, and the time back to 0
 * measured: a node left unenforced would fail everything after. Never throws for a timeout: a
 * benchmark records it, a test asserts on it (catchEnforcerOff).
 */
export async function timeEnforcerOff(
  metrics: () => Promise<string>,
  o: {
    readonly node: string;
    readonly timeoutMs: number;
    readonly pollMs?: number;
    readonly eventPollMs?: number;
    /** How long after the gauge the Event may take. */
    readonly eventGraceMs?: number;
    readonly backTimeoutMs?: number;
  },
): Promise<EnforcerOffTiming> {
  await labCommand(['fault', 'enforcer-off', '--node', o.node]);
  const since = Date.now();
  let metricMs: number | null = null;
  let metricsAtDetection: string | undefined;
  let event: EnforcerOffTiming['event'] = null;
  let node: EnforcerOffTiming['node'] = null;
  let nodeEvent: EnforcerOffTiming['nodeEvent'] = null;
  let clearing = Date.now();
  try {
    let lastEventPoll = 0;
    for (;;) {
      const now = Date.now();
      if (metricMs === null ? now - since > o.timeoutMs : now - since - metricMs > (o.eventGraceMs ?? 30_000))
        break;
      await sleep(o.pollMs ?? 500);
      if (metricMs === null || node === null) {
        const text = await metrics();
        if (metricMs === null && sumMetric(text, 'netaudit_mismatches', { kind: 'unexpected-allow' }) > 0) {
          metricMs = Date.now() - since;
          metricsAtDetection = text;
        }
        const gauges = nodeGauges(text);
        if (node === null && gauges[o.node] === 0) node = { ms: Date.now() - since, gauges };
      }
      if (Date.now() - lastEventPoll >= (o.eventPollMs ?? 1000)) {
        lastEventPoll = Date.now();
        // Only an Event written for this fault: an earlier one naming the node may still exist (TTL 1 h).
        const items = await netauditEvents();
        const item = items.find(
          (e) => e.reason === 'ConnectivityMismatch' && e.note.includes(o.node) && writtenSince(e, since),
        );
        if (item && !event) event = { ms: Date.now() - since, item };
        const warning = nodeEventOf(items, 'NodeNotEnforcing', o.node, since);
        if (warning && !nodeEvent) nodeEvent = { ms: Date.now() - since, item: warning };
      }
      if (metricMs !== null && event && node && nodeEvent) break;
    }
  } finally {
    clearing = Date.now();
    await labCommand(['fault', 'clear']);
  }
  const cleared = Date.now();
  const back = await waitFor(
    'netaudit_mismatches back to 0',
    async () => (isZero(await metrics()) ? Date.now() : undefined),
    o.backTimeoutMs ?? 180_000,
    1000,
  ).catch(() => null);
  const recovered = await waitFor(
    `${o.node} enforcing again (gauge 1, NodeEnforcing Event)`,
    async () =>
      nodeGauges(await metrics())[o.node] === 1 &&
      // From when the clear began: it waits for the enforcer's rules to settle, and a canary check
      // may see the node enforce again before the command returns.
      nodeEventOf(await netauditEvents(), 'NodeEnforcing', o.node, clearing)
        ? Date.now()
        : undefined,
    o.backTimeoutMs ?? 180_000,
    2000,
  ).catch(() => null);
  return {
    metricMs,
    event,
    metricsAtDetection,
    backToZeroMs: back === null ? null : back - cleared,
    node,
    nodeEvent,
    nodeRecoveredMs: recovered === null ? null : recovered - cleared,
  };
}

/** A scrape that failed (a busy controller) reads as '' and must not pass for "every series at 0". */
function isZero(text: string): boolean {
  return text.includes('netaudit_mismatches{') && sumMetric(text, 'netaudit_mismatches') === 0;
}

function writtenSince(e: EventItem, since: number): boolean {
  const last = Math.max(
    Date.parse(e.eventTime ?? '') || 0,
    Date.parse(e.series?.lastObservedTime ?? '') || 0,
  );
  // eventTime has microseconds, the clocks are one machine's: a second of slack is plenty.
  return last >= since - 1000;
}

/** timeEnforcerOff for tests: the gauge within timeoutMs, its Event, and back to 0, or it throws. */
export async function catchEnforcerOff(
  metrics: () => Promise<string>,
  o: { readonly node: string; readonly timeoutMs: number; readonly pollMs?: number },
): Promise<{ detectedMs: number; event: EventItem }> {
  const t = await timeEnforcerOff(metrics, o);
  if (t.metricMs === null) throw new Error(`unexpected-allow stayed 0 for ${o.timeoutMs} ms of enforcer-off`);
  if (!t.event) throw new Error(`no ConnectivityMismatch Event naming ${o.node} within 30 s of the gauge`);
  if (t.backToZeroMs === null) throw new Error('netaudit_mismatches not back to 0 within 180 s of the clear');
  if (!t.node) throw new Error(`netaudit_node_enforcing{node="${o.node}"} never went to 0`);
  // Exactly that node: every other node with a known verdict still enforces.
  for (const [name, value] of Object.entries(t.node.gauges))
    if (name !== o.node && value !== 1)
      throw new Error(`netaudit_node_enforcing{node="${name}"} is ${value} while only ${o.node} is broken`);
  if (!t.nodeEvent) throw new Error(`no NodeNotEnforcing Event regarding Node ${o.node}`);
  if (t.nodeRecoveredMs === null) {
    const gauges = nodeGauges(await metrics());
    const nodeEvents = (await netauditEvents())
      .filter((e) => e.regarding.kind === 'Node')
      .map((e) => `${e.eventTime} ${e.reason} ${e.regarding.name}: ${e.note}`);
    throw new Error(
      `${o.node} not back to enforcing (gauge 1 and NodeEnforcing) after the clear; gauges ${JSON.stringify(gauges)}; node Events:\n${nodeEvents.join('\n')}`,
    );
  }
  return { detectedMs: t.metricMs, event: t.event.item };
}
