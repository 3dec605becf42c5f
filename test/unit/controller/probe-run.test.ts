// One controller run without a lab: a scripted API server answers the node, Service and
// PodDisruptionBudget lists and the orphan sweep, and a simulated runner probes from the same
// objects the engine holds. What a run says it saw is checked against what the cluster's policy
// means (db accepts web only, written out here) and against the run's own bookkeeping rules.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { SimulatedRunner } from '../../../src/audit/simulated-runner.ts';
import { canaryPods, canaryPolicy } from '../../../src/controller/canary.ts';
import { ProbeRuns, type RunContext } from '../../../src/controller/probe-run.ts';
import type { Namespace, NetworkPolicy, Pod } from '../../../src/core/k8s.ts';
import { ExpectationEngine } from '../../../src/expect/engine.ts';
import { KubeServerSet } from '../../../src/kube/server-set.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import type { ProbeRunner } from '../../../src/probe/runner.ts';
import { Metrics } from '../../../src/report/metrics.ts';
import { loopbackApi } from '../../support/loopback-api.ts';

const CANARY = 'netaudit-canary';
const silent = pino({ level: process.env.TEST_LOG ?? 'silent' }, pino.destination(2));

const pod = (name: string, app: string, port: number, ip: string): Pod => ({
  metadata: { name, namespace: 'shop', labels: { app } },
  spec: {
    nodeName: 'node-1',
    containers: [{ name: 'c', ports: [{ containerPort: port, protocol: 'TCP' }] }],
  },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

const namespaces: Namespace[] = [{ metadata: { name: 'shop' } }, { metadata: { name: CANARY } }];
const pods: Pod[] = [
  pod('web-0', 'web', 80, '198.18.0.10'),
  pod('db-0', 'db', 5432, '198.18.0.11'),
  ...canaryPods(CANARY),
];
const policies: NetworkPolicy[] = [
  {
    metadata: { name: 'db-ingress', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
    },
  },
  canaryPolicy(CANARY),
];

describe('ProbeRuns', async () => {
  const asked: string[] = [];
  const { kc, close } = await loopbackApi((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    asked.push(`${req.method} ${url.pathname}?${url.searchParams.get('labelSelector') ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    const ready = [{ type: 'Ready', status: 'True' }];
    if (url.pathname === '/api/v1/nodes')
      res.end(
        JSON.stringify({
          kind: 'NodeList',
          items: ['node-1', 'node-2'].map((name) => ({ metadata: { name }, status: { conditions: ready } })),
        }),
      );
    else res.end(JSON.stringify({ kind: 'List', items: [], metadata: {} }));
  });
  after(close);
  const engine = ExpectationEngine.from({ namespaces, pods, policies }, PROFILES.generic, { externals: [] });
  const options = {
    profile: PROFILES.generic,
    instance: 'controller',
    includeNamespaces: [],
    excludeNamespaces: [],
    canary: true,
    canaryNamespace: CANARY,
    canaryIntervalMs: 20_000,
    maxProbePods: undefined,
    logger: silent,
    metrics: new Metrics({ processMetrics: false }),
    ports: undefined,
    externals: [],
    image: 'netaudit:test',
    timeoutMs: 1000,
    attempts: 1,
    confirmAttempts: 2,
    clientDelayMs: 0,
    podTimeoutMs: 5000,
    concurrency: 5,
    rate: 100,
    nodeScope: { tolerateTaints: true, nodeSelector: {} },
  };
  const servers = new KubeServerSet(kc, {
    ...options,
    perSecond: 100,
    lifetimeSeconds: 3600,
    minRemainingMs: 1000,
    waitTimeoutMs: 1000,
    pollMs: 10,
  });

  function runs(over: Partial<RunContext> & { during?: (r: ProbeRuns) => void } = {}): ProbeRuns {
    let r: ProbeRuns | undefined;
    const runner = (): ProbeRunner => {
      const simulated = new SimulatedRunner({ namespaces, pods, policies }, PROFILES.generic);
      return {
        startServers: (specs) => simulated.startServers(specs),
        runClients: async (clientRuns) => {
          if (r) over.during?.(r);
          return simulated.runClients(clientRuns);
        },
        cleanup: () => simulated.cleanup(),
        get podsCreated() {
          return simulated.podsCreated;
        },
      };
    };
    r = new ProbeRuns(kc, options, {
      engine: () => engine,
      synced: () => true,
      leading: () => true,
      objectsWithCanary: () => ({ namespaces, pods, policies, clusterPolicies: [] }),
      namespaceNames: () => ['shop', CANARY],
      servers: () => servers,
      cursor: () => 0,
      canaryCheckMs: () => 20_000,
      runner,
      ...over,
    });
    return r;
  }

  test('a full round probes the workloads (not the canary, which its checks own) and finds what policy says', async () => {
    const probed = await runs().run('full', undefined);
    assert.equal(probed.outcome, 'completed');
    assert.equal(probed.withCanary, false);
    const report = probed.report;
    assert.ok(report);
    assert.equal(report.summary.mismatches, 0);
    assert.ok(report.probes.length > 0);
    for (const p of report.probes)
      assert.ok(p.from.startsWith('shop/') && !p.to.includes(CANARY), `${p.from} -> ${p.to}`);
    const toDb = report.probes.filter((p) => p.to === 'shop/db-0' && p.port === 5432);
    assert.ok(toDb.length > 0);
    // db accepts web only: web -> db allowed, db -> db (another db pod) denied.
    for (const p of toDb) assert.equal(p.expected, p.from === 'shop/web-0' ? 'allow' : 'deny', `${p.from}`);
    assert.deepEqual(
      probed.nodes.map((n) => n.name),
      ['node-1', 'node-2'],
    );
  });

  test('the orphan sweep of a full round spares the runs under way and the kept servers', async () => {
    asked.length = 0;
    await runs().run('full', 'old-leader');
    const sweep = asked.find((a) => a.startsWith('GET /api/v1/pods?'));
    assert.ok(sweep, asked.join('\n'));
    assert.match(
      sweep,
      /netaudit\.io\/instance=controller,netaudit\.io\/run notin \([0-9a-f]{6},s[0-9a-f]{6}\)/,
    );
    assert.ok(sweep.includes(servers.setId));
  });

  test('a canary check probes the canary namespace only', async () => {
    const probed = await runs().run('canary', undefined);
    assert.equal(probed.withCanary, true);
    assert.ok(probed.report && probed.report.probes.length > 0);
    for (const p of probed.report.probes)
      assert.ok(p.from.startsWith(`${CANARY}/`) && p.to.startsWith(`${CANARY}/`));
    assert.equal(
      asked.filter((a) => a.includes('/services') || a.includes('poddisruptionbudgets')).length,
      2,
      'a check lists no Services or PodDisruptionBudgets (the full rounds before did, once each)',
    );
  });

  test('policies that change what classes mean mid-run: results discarded, a round again soon', async () => {
    const probed = await runs({ during: (r) => r.noteChanged(['some-class'], true) }).run('full', undefined);
    assert.equal(probed.outcome, 'completed');
    assert.equal(probed.report, undefined);
    assert.equal(probed.repartitioned, true);
  });

  test('a class that changes mid-run is named, so its results are not trusted', async () => {
    const probed = await runs({ during: (r) => r.noteChanged(['c-web'], false) }).run('full', undefined);
    assert.ok(probed.report);
    assert.deepEqual([...probed.changed], ['c-web']);
  });

  test('leadership lost mid-run: aborted, no results', async () => {
    let leading = true;
    const probed = await runs({ leading: () => leading, during: () => (leading = false) }).run(
      'full',
      undefined,
    );
    assert.equal(probed.outcome, 'aborted');
    assert.equal(probed.report, undefined);
  });
});
