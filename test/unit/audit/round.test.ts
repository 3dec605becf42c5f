// The audit round with a simulated runner: the planning, comparison, confirmation and reporting logic,
// without a cluster. (The same scenarios run with real packets in test/e2e/audit.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONFIRM_SLACK, type RoundOptions, runRound } from '../../../src/audit/round.ts';
import {
  enforcingNetwork,
  type NetworkModel,
  nodesNotEnforcing,
  SimulatedRunner,
} from '../../../src/audit/simulated-runner.ts';
import { CANARY_PODS_PER_NODE, canaryPods, canaryPolicy } from '../../../src/controller/canary.ts';
import type { NetworkPolicy } from '../../../src/core/k8s.ts';
import { parseIpLiteral } from '../../../src/policy/cidr.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import type { ClientRun, ProbeRunner } from '../../../src/probe/runner.ts';
import { auditTable } from '../../../src/report/audit-report.ts';
import { policy, upstreamModel } from '../../support/fixtures.ts';

const model = upstreamModel();
const ext = parseIpLiteral('203.0.113.8');
if (!ext.ok) throw new Error('bad ip');

const options: RoundOptions = {
  profile: PROFILES.generic,
  externals: [{ text: '203.0.113.8', ip: ext.value }],
  ports: [
    { port: 80, protocol: 'TCP' },
    { port: 81, protocol: 'UDP' },
  ],
  namespaces: [],
  timeoutMs: 1000,
  attempts: 1,
  confirmAttempts: 3,
  clientDelayMs: 0,
  settleMs: 0,
};

const denyIngressX = policy('x/deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const allowFromY = policy('x/allow-from-y', {
  podSelector: { matchLabels: { pod: 'a' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80 }] }],
});
const egressOnlyExternal = policy('z/egress-ext', {
  podSelector: { matchLabels: { pod: 'c' } },
  policyTypes: ['Egress'],
  egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }],
});

async function audit(policies: NetworkPolicy[], network: NetworkModel, nodes = ['n1', 'n2']) {
  const cluster = { namespaces: model.namespaces, pods: model.pods, policies };
  const runner = new SimulatedRunner(cluster, PROFILES.generic, network);
  return runRound({ cluster, nodes, guards: [] }, runner, options);
}

describe('audit round (simulated runner)', () => {
  test('a cluster that enforces its policies has zero mismatches, and every flow was probed', async () => {
    const r = await audit([denyIngressX, allowFromY, egressOnlyExternal], enforcingNetwork);
    assert.equal(r.summary.mismatches, 0);
    assert.equal(r.summary.flaky, 0);
    // 9 classes (one per pod) x 2 nodes clients; each probes 18 servers x 2 ports + 1 external x 2 ports.
    assert.equal(r.summary.classes, 9);
    assert.equal(r.summary.probes, 9 * 2 * (9 * 2 * 2 + 2));
    assert.ok(r.summary.savedProbes >= 0);
  });

  test('a node that stopped enforcing: the unexpected-allow flows are exactly those it should have denied', async () => {
    const r = await audit([denyIngressX, allowFromY, egressOnlyExternal], nodesNotEnforcing(['n1']));
    assert.ok(r.summary.unexpectedAllow > 0);
    assert.equal(r.summary.unexpectedDeny, 0);
    for (const m of r.mismatches) {
      assert.equal(m.kind, 'unexpected-allow');
      assert.deepEqual(m.nodes, ['n1'], `${m.from} -> ${m.to} names the node that should have denied`);
      assert.equal(m.expected, 'deny');
      assert.equal(m.observed, 'connected');
      assert.ok(m.because.length > 0);
      // Ingress denials are enforced on the destination node; egress denials on the source node.
      if (m.to.startsWith('x/')) assert.equal(m.dstNode, 'n1');
      else assert.equal(m.srcNode, 'n1');
    }
    // Into x's servers on n1: 9 source classes x 2 nodes x 3 servers x 2 ports = 108 flows, minus the
    // 6 that allow-from-y allows (y's 3 classes x 2 nodes -> x/a 80/TCP), minus the 6 from z/c on n2,
    // whose own node still denies its egress (3 servers x 2 ports).
    const intoX = r.mismatches.filter((m) => m.to.startsWith('x/'));
    assert.equal(intoX.length, 108 - 6 - 6);
    // z/c on n1 may only reach 203.0.113.0/24: all its pod flows from n1 are unexpected-allow, unless x denies too on n2.
    const fromZc = r.mismatches.filter((m) => m.from === 'z/c');
    assert.ok(fromZc.every((m) => m.srcNode === 'n1' || m.dstNode === 'n1'));
  });

  test('a stray drop of one flow is reported as exactly one unexpected-deny', async () => {
    // Under deny-ingress-x alone, no policy reads pod labels: each namespace is one class (represented
    // by its first pod), so the flow is "namespace y -> namespace z".
    const drop: NetworkModel = (p) =>
      p.traffic.from.namespace === 'y' &&
      p.traffic.to.kind === 'pod' &&
      p.traffic.to.pod.namespace === 'z' &&
      p.traffic.port === 80 &&
      p.srcNode === 'n2' &&
      p.dstNode === 'n1'
        ? { kind: 'timeout' }
        : enforcingNetwork(p);
    const r = await audit([denyIngressX], drop);
    assert.equal(r.summary.mismatches, 1);
    const [m] = r.mismatches;
    assert.equal(m?.kind, 'unexpected-deny');
    assert.equal(m?.from, 'y/a');
    assert.equal(m?.to, 'z/a');
    assert.deepEqual(m?.fromPods, ['y/a', 'y/b', 'y/c']);
    assert.equal(m?.observed, 'timeout');
    assert.deepEqual(m?.nodes, ['n2', 'n1']);
  });

  test('a mismatch that the re-probe does not confirm is counted as flaky, not reported', async () => {
    const flakyOnce: NetworkModel = (p) =>
      p.runIndex === 0 &&
      p.traffic.to.kind === 'pod' &&
      p.traffic.to.pod.namespace === 'y' &&
      p.traffic.port === 80
        ? { kind: 'timeout' }
        : enforcingNetwork(p);
    const r = await audit([denyIngressX], flakyOnce);
    assert.equal(r.summary.mismatches, 0);
    assert.ok(r.summary.flaky > 0);
    assert.ok(r.flaky.every((f) => f.reason.startsWith('not confirmed')));
  });

  test('a node that drops all its traffic is reported as unexpected-deny on every path through it', async () => {
    const deadNode: NetworkModel = (p) =>
      p.srcNode === 'n2' || p.dstNode === 'n2' ? { kind: 'timeout' } : enforcingNetwork(p);
    const r = await audit([denyIngressX], deadNode);
    assert.ok(r.summary.unexpectedDeny > 0);
    assert.ok(r.mismatches.every((m) => m.kind === 'unexpected-deny' && m.nodes.includes('n2')));
    assert.ok(r.mismatches.some((m) => m.srcNode === 'n1' && m.dstNode === 'n2'));
  });

  test('a re-probe waits longer than the first probe: twice the delay, twice the timeout per attempt', async () => {
    const cluster = { namespaces: model.namespaces, pods: model.pods, policies: [denyIngressX] };
    const simulated = new SimulatedRunner(cluster, PROFILES.generic, (p) =>
      p.runIndex === 0 && p.traffic.to.kind === 'pod' && p.traffic.to.pod.namespace === 'y'
        ? { kind: 'timeout' }
        : enforcingNetwork(p),
    );
    const batches: ClientRun[][] = [];
    const runner: ProbeRunner = {
      startServers: (specs) => simulated.startServers(specs),
      runClients: (runs) => {
        batches.push([...runs]);
        return simulated.runClients(runs);
      },
      cleanup: () => simulated.cleanup(),
      get podsCreated() {
        return simulated.podsCreated;
      },
    };
    const r = await runRound({ cluster, nodes: ['n1', 'n2'], guards: [] }, runner, {
      ...options,
      clientDelayMs: 500,
    });
    assert.equal(r.summary.mismatches, 0, 'the late answers settle as flaky');
    const [first, confirm] = batches;
    assert.ok(first && confirm && confirm.length > 0);
    assert.ok(first.every((run) => run.plan.timeoutMs === 1000 && run.delayMs === 500));
    assert.ok(
      confirm.every(
        (run) => run.plan.timeoutMs === 1000 * CONFIRM_SLACK && run.delayMs === 500 * CONFIRM_SLACK,
      ),
    );
    assert.ok(confirm.every((run) => run.plan.attempts === 3));
  });

  test('a probe error is inconclusive: never blocked, never a mismatch', async () => {
    const errors: NetworkModel = (p) =>
      p.traffic.to.kind === 'external' ? { kind: 'error', cause: 'ENETUNREACH' } : enforcingNetwork(p);
    const r = await audit([egressOnlyExternal], errors);
    assert.equal(r.summary.mismatches, 0);
    assert.ok(r.summary.inconclusive > 0);
    assert.ok(r.inconclusive.some((i) => i.reason === 'probe error: ENETUNREACH'));
    // z/c may only reach the external targets, and those errored: its other results prove nothing.
    assert.ok(
      r.inconclusive.every(
        (i) => i.reason === 'probe error: ENETUNREACH' || i.reason.includes('reached none of its'),
      ),
    );
  });

  test('refused on one attempt and timeout on the next agree with an expected deny: no noise', async () => {
    const cluster = { namespaces: model.namespaces, pods: model.pods, policies: [denyIngressX] };
    // A REJECT whose ICMP answer the kernel rate-limits: the second attempt hears nothing.
    const rateLimited: NetworkModel = (p) =>
      p.verdict.allowed
        ? { kind: 'connected', ms: 1 }
        : p.attempt === 0
          ? { kind: 'refused' }
          : { kind: 'timeout' };
    const runner = new SimulatedRunner(cluster, PROFILES.generic, rateLimited);
    const r = await runRound({ cluster, nodes: ['n1', 'n2'], guards: [] }, runner, {
      ...options,
      attempts: 2,
    });
    const denied = r.probes.filter((p) => p.expected === 'deny');
    assert.ok(denied.length > 0);
    assert.ok(denied.every((p) => p.observed === 'blocked' && p.conclusive));
    assert.equal(r.summary.inconclusive, 0);
    assert.equal(r.summary.mismatches, 0);
    assert.equal(r.summary.flaky, 0);
  });

  test('a block on one attempt and an error on the next stays inconclusive', async () => {
    const cluster = { namespaces: model.namespaces, pods: model.pods, policies: [denyIngressX] };
    const halfBroken: NetworkModel = (p) =>
      p.verdict.allowed
        ? { kind: 'connected', ms: 1 }
        : p.attempt === 0
          ? { kind: 'refused' }
          : { kind: 'error', cause: 'EHOSTUNREACH' };
    const runner = new SimulatedRunner(cluster, PROFILES.generic, halfBroken);
    const r = await runRound({ cluster, nodes: ['n1', 'n2'], guards: [] }, runner, {
      ...options,
      attempts: 2,
    });
    const denied = r.probes.filter((p) => p.expected === 'deny');
    assert.equal(r.summary.inconclusive, denied.length);
    assert.ok(denied.every((p) => p.observed === 'mixed' && !p.conclusive));
    assert.ok(r.inconclusive.every((i) => i.reason === 'attempts disagree: refused, error'));
  });

  test('the audit table tells the same flow probed between different node pairs apart', async () => {
    const r = await audit([denyIngressX, allowFromY, egressOnlyExternal], nodesNotEnforcing(['n1']));
    const text = auditTable({ report: r, nodes: [], dryRun: false, details: true }, false);
    const m = r.mismatches.find((f) => f.srcNode !== f.dstNode && f.dstNode !== undefined);
    assert.ok(m, 'a cross-node mismatch');
    assert.ok(text.includes(`(${m.srcNode} -> ${m.dstNode})`), text);
    assert.match(text, /probed on/);
  });

  test('--namespace limits the classes probed, and without policies a namespace is one class', async () => {
    const cluster = { namespaces: model.namespaces, pods: model.pods, policies: [] };
    const runner = new SimulatedRunner(cluster, PROFILES.generic);
    const r = await runRound({ cluster, nodes: ['n1'], guards: [] }, runner, {
      ...options,
      namespaces: ['y'],
    });
    // One class (y), one node: one client probes one server on 2 ports and the external on 2 ports.
    assert.equal(r.summary.probes, 4);
    assert.equal(runner.podsCreated, 2);
    // A pod-by-pod audit would need 3 pods x (3 pods x 2 ports + 2) probes.
    assert.equal(r.summary.podPairProbes, 3 * (3 * 2 + 2));
  });
});

describe('a canary check (the canary namespace alone, as the controller runs it between rounds)', () => {
  const canary = 'netaudit-canary';
  const cluster = {
    namespaces: [...model.namespaces, { metadata: { name: canary } }],
    pods: [...model.pods, ...canaryPods(canary)],
    policies: [canaryPolicy(canary), denyIngressX],
  };
  const check = (runner: SimulatedRunner, nodes: string[]) =>
    runRound({ cluster, nodes, guards: [] }, runner, {
      ...options,
      externals: [],
      ports: undefined,
      namespaces: [canary],
      rotation: { maxProbePods: 400, canaryNamespace: canary, cursor: 0 },
    });

  test(`takes CANARY_PODS_PER_NODE (${CANARY_PODS_PER_NODE}) pods on every node and probes no user class`, async () => {
    const runner = new SimulatedRunner(cluster, PROFILES.generic, enforcingNetwork);
    const r = await check(runner, ['n1', 'n2', 'n3']);
    assert.equal(r.summary.mismatches, 0);
    assert.equal(runner.podsCreated, CANARY_PODS_PER_NODE * 3);
    assert.equal(r.rotation.probePods, CANARY_PODS_PER_NODE * 3);
    assert.ok(r.probes.length > 0);
    assert.ok(r.probes.every((p) => p.clientPod.startsWith(`${canary}/`) && p.to.startsWith(`${canary}/`)));
  });

  test('in a full round the canary classes probe one another only, and user classes never probe the canary', async () => {
    const runner = new SimulatedRunner(cluster, PROFILES.generic, enforcingNetwork);
    const r = await runRound({ cluster, nodes: ['n1', 'n2'], guards: [] }, runner, {
      ...options,
      rotation: { maxProbePods: undefined, canaryNamespace: canary, cursor: 0 },
    });
    const inCanary = (pod: string) => pod.startsWith(`${canary}/`);
    assert.ok(r.probes.some((p) => inCanary(p.from)) && r.probes.some((p) => !inCanary(p.from)));
    assert.ok(r.probes.every((p) => inCanary(p.from) === (p.to !== undefined && inCanary(p.to))));
    assert.equal(r.summary.mismatches, 0);
  });

  test('catches a node that stopped enforcing: the denied class reaches the protected one there', async () => {
    const runner = new SimulatedRunner(cluster, PROFILES.generic, nodesNotEnforcing(['n2']));
    const r = await check(runner, ['n1', 'n2']);
    assert.ok(r.summary.unexpectedAllow > 0);
    assert.ok(r.mismatches.every((f) => f.kind === 'unexpected-allow' && f.nodes.includes('n2')));
    assert.ok(r.mismatches.some((f) => f.from.includes('canary-denied')));
  });
});

describe('a client pod with no network of its own', () => {
  test('its blocked probes are inconclusive, not evidence of enforcement', async () => {
    // x/a's client on n1 reaches nothing at all (a broken pod network, not policy).
    const deafClient: NetworkModel = (p) =>
      p.traffic.from.namespace === 'z' && p.srcNode === 'n1'
        ? { kind: 'timeout' }
        : nodesNotEnforcing(['n1'])(p);
    const r = await audit([denyIngressX], deafClient);
    assert.ok(r.inconclusive.some((i) => i.reason.includes('reached none of its')));
    // Flows into x from z on n1 should have opened (n1 does not enforce) but were not observed: they
    // are inconclusive, never silently counted as "denied as expected".
    const fromZn1IntoX = r.probes.filter(
      (p) => p.from.startsWith('z/') && p.srcNode === 'n1' && p.to.startsWith('x/'),
    );
    assert.ok(fromZn1IntoX.length > 0);
    for (const p of fromZn1IntoX) {
      assert.ok(
        r.inconclusive.some(
          (i) =>
            i.from === p.from &&
            i.to === p.to &&
            i.port === p.port &&
            i.srcNode === 'n1' &&
            i.dstNode === p.dstNode,
        ),
      );
    }
  });
});
