// netaudit deployed as people deploy it: `kustomize build` of manifests/ (through the lab overlay in
// examples/lab/deploy), server-side applied to the lab's API server with the Prometheus Operator's
// CRDs installed. The Deployment's two replicas run as lab pods under their ServiceAccount (the node
// agent provides the projected token and the API server address, as a kubelet does) and audit
// continuously; the ValidatingAdmissionPolicy fences what that ServiceAccount may create and delete.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { KUSTOMIZE_BIN, NODE_BIN, PROM_OP_CRDS, REPO, STATE_FILE } from '../../../lab/config.ts';
import { LAB_IMAGE } from '../../../lab/image.ts';
import { ensureLabUp, kubeRequest, labCommand, labEnforcer, runInPod } from '../../../lab/lab.ts';
import { waitFor } from '../../../lab/sh.ts';
import { clientPod, type ProbePodContext, serverPod } from '../../../src/kube/probe-pods.ts';
import {
  applyFile,
  applyText,
  deleteNamespaces,
  deleteObject,
  type ObjectHead,
  objectPath,
  objectsOf,
  request,
  waitForPods,
} from '../support/apply.ts';
import {
  catchEnforcerOff,
  metric,
  netauditEvents,
  serviceAccountToken,
  sumMetric,
} from '../support/controller.ts';
import { denyAll, webAndClient } from '../support/workloads.ts';

const NS = 'dep';
const OVERLAY = resolve(REPO, 'examples/lab/deploy');
const WORKLOADS = webAndClient(NS);
const DENY_ALL = denyAll(NS);

function kustomize(dir: string): string {
  return execFileSync(KUSTOMIZE_BIN, ['build', dir], { encoding: 'utf8' });
}

/** The lab overlay names kube-router's profile; on another lab enforcer the Deployment gets that one's. */
function withLabProfile(rendered: string): string {
  const setting = /(- name: NETAUDIT_PROFILE\n\s+value: )kube-router\n/;
  assert.match(rendered, setting, 'the lab overlay sets NETAUDIT_PROFILE to kube-router');
  return rendered.replace(setting, `$1${labEnforcer()}\n`);
}

interface PodItem {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { serviceAccountName?: string; volumes?: { name: string; projected?: unknown }[] };
  status?: { phase?: string; containerStatuses?: { restartCount?: number }[] };
}

/**
 * The run labels of netaudit's client probe pods now: they exist only while a run is under way
 * (servers are kept across rounds under their set's label).
 */
async function probePodRuns(): Promise<Set<string>> {
  const list = (await request(
    'GET',
    `/api/v1/pods?labelSelector=${encodeURIComponent('netaudit.io/instance=controller,netaudit.io/probe=client')}`,
  )) as {
    items: { metadata: { labels?: Record<string, string> } }[];
  };
  return new Set(list.items.map((p) => p.metadata.labels?.['netaudit.io/run'] ?? ''));
}

async function controllerPods(): Promise<PodItem[]> {
  const list = (await request(
    'GET',
    `/api/v1/namespaces/netaudit/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=netaudit')}`,
  )) as { items: PodItem[] };
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = (await request(
    'GET',
    '/apis/coordination.k8s.io/v1/namespaces/netaudit/leases/netaudit-controller',
  )) as { spec?: { holderIdentity?: string } };
  return lease.spec?.holderIdentity || undefined;
}

/** /metrics of a controller pod, fetched from inside its own network namespace. */
async function podMetrics(pod: string): Promise<string> {
  const r = await runInPod('netaudit', pod, [
    NODE_BIN,
    '-e',
    "fetch('http://127.0.0.1:9090/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))",
  ]);
  if (r.code !== 0) throw new Error(`metrics of ${pod}: ${r.stderr}`);
  return r.stdout;
}

async function leaderMetrics(): Promise<{ leader: string; text: string }> {
  const leader = await waitFor('a leader', leaseHolder, 60_000);
  return { leader, text: await podMetrics(leader) };
}

/** A request as the netaudit ServiceAccount: the status code and message, never a throw. */
async function asNetaudit(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ code: number; message: string }> {
  try {
    await kubeRequest(method, path, body, 'application/json', token);
    return { code: 200, message: '' };
  } catch (e) {
    return { code: (e as { code?: number }).code ?? 0, message: (e as Error).message };
  }
}

const CTX: ProbePodContext = {
  image: LAB_IMAGE,
  instance: 'controller',
  runId: 'fence01',
  owner: { name: 'netaudit-run-fence01', uid: '00000000-0000-4000-8000-000000000001' },
  serverDeadlineSeconds: 300,
  clientDeadlineSeconds: 120,
};

function probePod(): k8s.V1Pod {
  return serverPod(CTX, {
    key: 'netaudit-srv-fence-n0',
    classId: 'cfence',
    namespace: NS,
    node: 'nalab-node-1',
    labels: { app: 'web' },
    containerPorts: [{ name: undefined, port: 80, protocol: 'TCP' }],
    listen: [{ port: 80, protocol: 'TCP' }],
  });
}

describe('manifests/ deployed in the lab (kustomize, server-side apply, the Deployment as lab pods)', {
  timeout: 1_200_000,
}, () => {
  let applied: ObjectHead[] = [];

  before(async () => {
    await ensureLabUp();
    // The Prometheus Operator's CRDs, as on a cluster that runs it: then the whole base applies.
    for (const f of readdirSync(PROM_OP_CRDS).filter((f) => f.endsWith('.yaml'))) {
      const [crd] = await applyFile(resolve(PROM_OP_CRDS, f));
      await waitFor(
        `CRD ${crd?.metadata.name} established`,
        async () => {
          const c = (await request('GET', objectPath(crd as ObjectHead))) as {
            status?: { conditions?: { type: string; status: string }[] };
          };
          return (
            c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') || undefined
          );
        },
        30_000,
      );
    }
    await applyText(WORKLOADS);
    await waitForPods([NS]);
  });

  after(async () => {
    await labCommand(['fault', 'clear']);
    // The fence outlives its namespace otherwise (cluster-scoped) and would deny every later test's
    // netaudit for want of its parameters: delete what was applied, cluster-scoped objects first.
    const order = (o: ObjectHead) =>
      o.kind.startsWith('ValidatingAdmission') ? 0 : o.kind === 'Namespace' ? 2 : 1;
    for (const o of [...applied].sort((a, b) => order(a) - order(b)).filter((o) => o.kind !== 'Namespace'))
      await deleteObject(o).catch(() => undefined);
    await deleteNamespaces([NS]);
  });

  test('kustomize output of the base and both CNI overlays renders; the lab overlay applies server-side', async () => {
    for (const overlay of ['manifests/base', 'manifests/overlays/calico', 'manifests/overlays/cilium']) {
      const kinds = objectsOf(kustomize(resolve(REPO, overlay))).map((o) => o.kind);
      for (const k of [
        'Namespace',
        'ServiceAccount',
        'ClusterRole',
        'Deployment',
        'Service',
        'ServiceMonitor',
        'PrometheusRule',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ])
        assert.ok(kinds.includes(k), `${overlay} renders a ${k}`);
    }
    applied = await applyText(withLabProfile(kustomize(OVERLAY)));
    for (const o of applied) await request('GET', objectPath(o)); // every object exists on the server
    assert.ok(applied.length >= 15, `applied ${applied.length} objects`);
  });

  test('the Deployment runs as two lab pods under its ServiceAccount: one leader, clean rounds, no Warning', async () => {
    await waitFor(
      'two controller pods running',
      async () => {
        const pods = await controllerPods();
        return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running') ? true : undefined;
      },
      120_000,
    );
    const pods = await controllerPods();
    for (const p of pods) {
      assert.equal(p.spec.serviceAccountName, 'netaudit');
      assert.ok(
        p.spec.volumes?.some((v) => v.name.startsWith('kube-api-access-') && v.projected),
        'the ServiceAccount admission plugin projected the token volume',
      );
    }
    const { leader, text } = await waitFor(
      'two completed rounds on the leader',
      async () => {
        const m = await leaderMetrics();
        return (metric(m.text, 'netaudit_audit_rounds_total', { outcome: 'completed' }) ?? 0) >= 2
          ? m
          : undefined;
      },
      300_000,
    );
    assert.ok(
      pods.some((p) => p.metadata.name === leader),
      'the Lease is held by a pod of the Deployment',
    );
    assert.equal(metric(text, 'netaudit_leader'), 1);
    assert.equal(sumMetric(text, 'netaudit_mismatches'), 0);
    assert.equal(metric(text, 'netaudit_nodes_covered'), 2);
    const follower = pods.find((p) => p.metadata.name !== leader)?.metadata.name as string;
    const followerText = await podMetrics(follower);
    assert.equal(metric(followerText, 'netaudit_leader'), 0, 'exactly one replica leads');
    assert.equal(metric(followerText, 'netaudit_audit_rounds_total', { outcome: 'completed' }) ?? 0, 0);
    assert.deepEqual(
      (await netauditEvents()).filter((e) => e.type === 'Warning' && e.regarding.namespace === NS),
      [],
    );
  });

  test('enforcer-off is caught by the deployed leader (metric and Event naming the node); clear restores', async () => {
    await catchEnforcerOff(async () => (await leaderMetrics()).text, {
      node: 'nalab-node-1',
      timeoutMs: 180_000,
      pollMs: 1000,
    });
  });

  test('a deny-all policy: the deployed leader expects the new denials, no false alarm', async () => {
    const warnings = async () =>
      (await netauditEvents()).filter((e) => e.type === 'Warning' && e.regarding.namespace === NS).length;
    const warningsBefore = await warnings();
    const completed = async () =>
      metric((await leaderMetrics()).text, 'netaudit_audit_rounds_total', { outcome: 'completed' }) ?? 0;
    const before = await completed();
    const objects = await applyText(DENY_ALL);
    try {
      await waitFor(
        'two more completed rounds',
        async () => (await completed()) >= before + 2,
        240_000,
        1000,
      );
      assert.equal(sumMetric((await leaderMetrics()).text, 'netaudit_mismatches'), 0);
      assert.equal(await warnings(), warningsBefore, 'no new Warning event');
    } finally {
      for (const o of objects) await deleteObject(o);
    }
  });

  test('the API server away for 20 s: no replica restarts, the leader aborts its round, a clean round after, no leak', async () => {
    const restarts = async () =>
      Object.fromEntries(
        (await controllerPods()).map((p) => [
          p.metadata.name,
          p.status?.containerStatuses?.[0]?.restartCount ?? 0,
        ]),
      );
    const restartsBefore = await restarts();
    const roundsOf = (text: string, outcome: string) =>
      metric(text, 'netaudit_audit_rounds_total', { outcome }) ?? 0;
    await waitFor('a round in flight', async () => (await probePodRuns()).size > 0, 120_000, 500);
    const { leader, text } = await leaderMetrics();
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as {
      processes: Record<string, { pid: number }>;
    };
    const pid = state.processes['kube-apiserver']?.pid;
    assert.ok(pid, 'kube-apiserver pid');
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20_000));
    await labCommand(['up']);
    // Whoever leads now (the Lease may have moved) completes a clean round: the first one with
    // kube-router, which enforces again as soon as the API server is back. On Cilium the first
    // round after showed mismatches in one CI run (2) and none in another, likely (not diagnosed
    // further) while its agents resync their watches: there, a later round.
    const catchesUp = labEnforcer() === 'cilium';
    const after = await waitFor(
      'a clean round after the outage',
      async () => {
        const m = await leaderMetrics();
        const grew = m.leader !== leader || roundsOf(m.text, 'completed') > roundsOf(text, 'completed');
        if (!grew || roundsOf(m.text, 'completed') === 0) return undefined;
        return !catchesUp || sumMetric(m.text, 'netaudit_mismatches') === 0 ? m : undefined;
      },
      catchesUp ? 300_000 : 180_000,
      2000,
    );
    assert.equal(sumMetric(after.text, 'netaudit_mismatches'), 0);
    // The probe pods in flight may be a full round's or a canary check's (they run side by side):
    // whichever was interrupted ended as aborted (or failed).
    const interrupted = (t: string) =>
      roundsOf(t, 'aborted') +
      roundsOf(t, 'failed') +
      (metric(t, 'netaudit_canary_checks_total', { outcome: 'aborted' }) ?? 0) +
      (metric(t, 'netaudit_canary_checks_total', { outcome: 'failed' }) ?? 0);
    if (after.leader === leader)
      assert.ok(interrupted(after.text) > interrupted(text), 'the interrupted round ended as aborted');
    assert.deepEqual(await restarts(), restartsBefore, 'no container restarted: nothing crashed');
    const runsNow = await probePodRuns();
    await waitFor(
      'probe pods of the interrupted round deleted',
      async () => [...(await probePodRuns())].every((r) => !runsNow.has(r)),
      120_000,
      2000,
    );
  });

  test('the admission policy: the ServiceAccount may create only netaudit probe pods, delete only those, and read no Secret', async () => {
    const token = await serviceAccountToken();
    const dry = (path: string) => `${path}?dryRun=All`;
    const pods = `/api/v1/namespaces/${NS}/pods`;
    // The control: a real probe pod passes admission (dry run: admission runs, nothing is stored).
    const good = await asNetaudit(token, 'POST', dry(pods), probePod());
    assert.equal(good.code, 200, good.message);
    const client = clientPod(CTX, {
      name: 'netaudit-cli-fence-n0',
      spec: { key: 'k', classId: 'cfence', namespace: NS, node: 'nalab-node-1', labels: {} },
      plan: { version: 1, timeoutMs: 1000, attempts: 1, probes: [] },
      delayMs: 0,
    });
    assert.equal((await asNetaudit(token, 'POST', dry(pods), client)).code, 200);

    const variants: [string, (p: k8s.V1Pod) => void][] = [
      [
        'another image',
        (p) => Object.assign(p.spec?.containers[0] ?? {}, { image: 'docker.io/library/nginx:1.29' }),
      ],
      [
        'a shell instead of the agent',
        (p) => Object.assign(p.spec?.containers[0] ?? {}, { command: ['sh'] }),
      ],
      [
        'privileged',
        (p) =>
          Object.assign(p.spec?.containers[0]?.securityContext ?? {}, {
            privileged: true,
            allowPrivilegeEscalation: true,
          }),
      ],
      [
        'host network',
        // (the pod's unprivileged-port sysctl is invalid with hostNetwork: drop it, or validation answers first)
        (p) =>
          Object.assign(p.spec ?? {}, {
            hostNetwork: true,
            securityContext: { ...p.spec?.securityContext, sysctls: [] },
          }),
      ],
      [
        'a hostPath volume',
        (p) => Object.assign(p.spec ?? {}, { volumes: [{ name: 'h', hostPath: { path: '/' } }] }),
      ],
      ['a service-account token', (p) => Object.assign(p.spec ?? {}, { automountServiceAccountToken: true })],
      ['no netaudit labels', (p) => Object.assign(p.metadata ?? {}, { labels: { app: 'web' } })],
      ['no limits', (p) => Object.assign(p.spec?.containers[0] ?? {}, { resources: {} })],
      [
        'a second container',
        (p) => p.spec?.containers.push({ ...(p.spec.containers[0] as k8s.V1Container), name: 'x' }),
      ],
    ];
    for (const [what, mutate] of variants) {
      const pod = probePod();
      mutate(pod);
      const r = await asNetaudit(token, 'POST', dry(pods), pod);
      assert.ok([403, 422].includes(r.code), `a probe pod with ${what} is denied (got ${r.code})`);
      assert.match(r.message, /netaudit-fence/, `${what}: denied by the fence`);
    }
    // Deleting a workload pod (RBAC allows pods/delete cluster-wide) is fenced too.
    const del = await asNetaudit(token, 'DELETE', dry(`${pods}/web`));
    assert.ok([403, 422].includes(del.code), `deleting a workload pod is denied (got ${del.code})`);
    const cm = await asNetaudit(token, 'POST', dry(`/api/v1/namespaces/${NS}/configmaps`), {
      metadata: { name: 'anything' },
      data: { a: 'b' },
    });
    assert.ok([403, 422].includes(cm.code), `an arbitrary ConfigMap is denied (got ${cm.code})`);
    // ConfigMaps: never read, in any namespace (orphan owners are found through their pods).
    assert.equal((await asNetaudit(token, 'GET', '/api/v1/configmaps')).code, 403);
    assert.equal((await asNetaudit(token, 'GET', `/api/v1/namespaces/${NS}/configmaps`)).code, 403);
    // Secrets: no RBAC at all.
    assert.equal((await asNetaudit(token, 'GET', `/api/v1/namespaces/${NS}/secrets`)).code, 403);
    assert.equal((await asNetaudit(token, 'GET', '/api/v1/secrets')).code, 403);
    // The fence is scoped to netaudit: the admin creates such a pod freely (dry run).
    const admin = probePod();
    Object.assign(admin.spec?.containers[0] ?? {}, { image: 'docker.io/library/nginx:1.29' });
    await request('POST', dry(pods), admin);
  });

  test('deleting the leader pod: the other replica leads and audits, the Deployment replaces the pod', async () => {
    const old = await waitFor('a leader', leaseHolder, 60_000);
    await request('DELETE', `/api/v1/namespaces/netaudit/pods/${old}?gracePeriodSeconds=0`);
    const started = Date.now();
    const next = await waitFor(
      'a new leader',
      async () => {
        const h = await leaseHolder();
        if (!h || h === old) return undefined;
        const m = await podMetrics(h);
        return metric(m, 'netaudit_leader') === 1 ? h : undefined;
      },
      60_000,
    );
    const handoverMs = Date.now() - started;
    process.stderr.write(`# leader ${old} deleted; ${next} leads after ${handoverMs} ms\n`);
    assert.ok(
      handoverMs < 30_000,
      `hand-over within the lease duration and a renew period (${handoverMs} ms)`,
    );
    await waitFor(
      'a completed round by the new leader',
      async () =>
        (metric(await podMetrics(next), 'netaudit_audit_rounds_total', { outcome: 'completed' }) ?? 0) >= 1
          ? true
          : undefined,
      180_000,
    );
    await waitFor(
      'the Deployment back at two running pods',
      async () => {
        const pods = await controllerPods();
        return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running') ? true : undefined;
      },
      120_000,
    );
  });
});
