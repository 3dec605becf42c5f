// Per-node verdicts from whole rounds with the simulated runner: a node that stopped enforcing is named
// once, a healthy node is `enforcing`, and a node that was not probed says why.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nodeScope, parseNodeSelector } from '../../../src/audit/node-scope.ts';
import {
  diagnoseNodes,
  type NodeCandidate,
  type NodeStatus,
  type NodeVerdict,
} from '../../../src/audit/nodes.ts';
import { type RoundOptions, type RoundReport, runRound } from '../../../src/audit/round.ts';
import {
  enforcingNetwork,
  type NetworkModel,
  nodesNotEnforcing,
  SimulatedRunner,
} from '../../../src/audit/simulated-runner.ts';
import type { NetworkPolicy } from '../../../src/core/k8s.ts';
import { parseIpLiteral } from '../../../src/policy/cidr.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { auditJson, auditTable } from '../../../src/report/audit-report.ts';
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

/** x accepts no ingress at all; y may send nothing (egress isolated, no rule). */
const denyIngressX = policy('x/deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const denyEgressY = policy('y/deny-egress', { podSelector: {}, policyTypes: ['Egress'] });

const candidates = (...names: string[]): NodeCandidate[] =>
  names.map((name) => ({ name, excluded: undefined }));

async function round(
  policies: NetworkPolicy[],
  network: NetworkModel,
  nodes = ['n1', 'n2'],
): Promise<{ report: RoundReport; verdicts: NodeVerdict[] }> {
  const cluster = { namespaces: model.namespaces, pods: model.pods, policies };
  const report = await runRound(
    { cluster, nodes, guards: [] },
    new SimulatedRunner(cluster, PROFILES.generic, network),
    options,
  );
  const verdicts = diagnoseNodes({
    nodes: candidates(...nodes),
    probes: report.probes,
    mismatches: report.mismatches,
    inconclusive: report.inconclusive,
    failedPods: report.failedPods,
    planned: undefined,
  });
  return { report, verdicts };
}

/** n1 enforces ingress but forgot egress (as a CNI whose egress chain was flushed). */
const n1WithoutEgress: NetworkModel = (p) => {
  const egressBlocks = !p.verdict.egress.allowed && p.srcNode !== 'n1';
  const ingressBlocks = !p.verdict.ingress.allowed;
  return egressBlocks || ingressBlocks ? { kind: 'refused' } : { kind: 'connected', ms: 1 };
};

const everythingErrors: NetworkModel = () => ({ kind: 'error', cause: 'EHOSTUNREACH' });

describe('node verdicts from a round', () => {
  const cases: {
    name: string;
    policies: NetworkPolicy[];
    network: NetworkModel;
    want: Record<string, NodeStatus>;
  }[] = [
    {
      name: 'a cluster that enforces: every node enforcing',
      policies: [denyIngressX, denyEgressY],
      network: enforcingNetwork,
      want: { n1: 'enforcing', n2: 'enforcing' },
    },
    {
      name: 'one node stopped enforcing: that node alone is not-enforcing',
      policies: [denyIngressX, denyEgressY],
      network: nodesNotEnforcing(['n1']),
      want: { n1: 'not-enforcing', n2: 'enforcing' },
    },
    {
      name: 'no node enforces: every node not-enforcing',
      policies: [denyIngressX, denyEgressY],
      network: nodesNotEnforcing(['n1', 'n2']),
      want: { n1: 'not-enforcing', n2: 'not-enforcing' },
    },
    {
      name: 'a node enforcing ingress but not egress is partial',
      policies: [denyIngressX, denyEgressY],
      network: n1WithoutEgress,
      want: { n1: 'partial', n2: 'enforcing' },
    },
    {
      name: 'no policy denies anything: nothing is known about enforcement',
      policies: [],
      network: enforcingNetwork,
      want: { n1: 'unknown', n2: 'unknown' },
    },
    {
      name: 'every probe errors: unknown, never enforcing',
      policies: [denyIngressX],
      network: everythingErrors,
      want: { n1: 'unknown', n2: 'unknown' },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { verdicts } = await round(c.policies, c.network);
      assert.deepEqual(Object.fromEntries(verdicts.map((v) => [v.name, v.status])), c.want);
    });
  }

  test('counts: probes with the node at either end, and the unexpected-allow flows it should have denied', async () => {
    const { report, verdicts } = await round([denyIngressX, denyEgressY], nodesNotEnforcing(['n1']));
    const [n1, n2] = verdicts;
    // No selector reads pod labels: each of the 3 namespaces is one class, with a client and a server on
    // each node. A client probes 6 servers x 2 ports + 1 external x 2 ports = 14 flows. n1's probes: its
    // 3 clients' 42, and the 3 x 3 x 2 = 18 from n2's clients to its servers.
    assert.equal(n1?.probes, 3 * 14 + 3 * 3 * 2);
    assert.equal(n2?.probes, 3 * 14 + 3 * 3 * 2);
    assert.ok(report.mismatches.length > 0);
    assert.ok(report.mismatches.every((m) => m.nodes.includes('n1') && !m.nodes.includes('n2')));
    assert.equal(n1?.unexpectedAllow, report.mismatches.length);
    assert.equal(n2?.unexpectedAllow, 0);
    assert.equal(n1?.evidence.kind, 'evidence');
    if (n1?.evidence.kind === 'evidence') {
      assert.equal(n1.evidence.held, 0);
      assert.ok(n1.evidence.examples.length > 0);
    }
  });

  test('a stray drop is counted on the nodes of its path and leaves them enforcing', async () => {
    const drop: NetworkModel = (p) =>
      p.traffic.to.kind === 'pod' &&
      p.traffic.to.pod.namespace === 'z' &&
      p.srcNode === 'n2' &&
      p.dstNode === 'n1'
        ? { kind: 'timeout' }
        : enforcingNetwork(p);
    const { report, verdicts } = await round([denyIngressX], drop);
    assert.ok(report.summary.unexpectedDeny > 0);
    for (const v of verdicts) {
      assert.equal(v.status, 'enforcing');
      assert.equal(v.unexpectedDeny, report.summary.unexpectedDeny);
    }
  });

  test('a first-pass connection the re-probe does not confirm is neither leaked nor held', async () => {
    const flaky: NetworkModel = (p) =>
      p.runIndex === 0 && p.srcNode === 'n1' && !p.verdict.allowed
        ? { kind: 'connected', ms: 1 }
        : enforcingNetwork(p);
    const { report, verdicts } = await round([denyIngressX], flaky);
    assert.equal(report.summary.mismatches, 0);
    assert.ok(report.summary.flaky > 0);
    assert.deepEqual(
      verdicts.map((v) => v.status),
      ['enforcing', 'enforcing'],
    );
  });
});

describe('nodes that were not probed', () => {
  test('excluded nodes, nodes without probes and nodes whose probe pods failed are not-covered, with the reason', () => {
    const verdicts = diagnoseNodes({
      nodes: [
        { name: 'a', excluded: { kind: 'cordoned' } },
        { name: 'b', excluded: undefined },
        { name: 'c', excluded: undefined },
        { name: 'd', excluded: undefined },
      ],
      probes: [],
      mismatches: [],
      inconclusive: [],
      failedPods: [{ node: 'c', reason: 'ImagePullBackOff' }],
      planned: new Set(['b', 'c']),
    });
    assert.deepEqual(
      verdicts.map((v) => [v.name, v.status, v.evidence.kind === 'not-covered' ? v.evidence.why.kind : '']),
      [
        ['a', 'not-covered', 'cordoned'],
        ['b', 'not-covered', 'no-probe'],
        ['c', 'not-covered', 'pods-failed'],
        ['d', 'not-covered', 'outside-window'],
      ],
    );
  });

  const node = (
    name: string,
    o: { ready?: boolean; cordoned?: boolean; taints?: string[]; labels?: Record<string, string> } = {},
  ) => ({
    name,
    ready: o.ready ?? true,
    cordoned: o.cordoned ?? false,
    taints: o.taints ?? [],
    labels: o.labels ?? {},
  });
  const nodes = [
    node('n4', { taints: ['dedicated=gpu:NoSchedule'], labels: { os: 'linux' } }),
    node('n1', { labels: { os: 'linux' } }),
    node('n2', { ready: false, labels: { os: 'linux' } }),
    node('n3', { cordoned: true, labels: { os: 'linux' } }),
    node('n5', { labels: { os: 'windows' } }),
  ];
  const scopeCases: {
    name: string;
    tolerateTaints: boolean;
    selector: string;
    probe: string[];
    out: Record<string, string>;
  }[] = [
    {
      name: 'by default tainted nodes are probed; NotReady and cordoned ones are not',
      tolerateTaints: true,
      selector: '',
      probe: ['n1', 'n4', 'n5'],
      out: { n2: 'not-ready', n3: 'cordoned' },
    },
    {
      name: 'without tolerating taints, a tainted node is left out and says which taint',
      tolerateTaints: false,
      selector: '',
      probe: ['n1', 'n5'],
      out: { n2: 'not-ready', n3: 'cordoned', n4: 'tainted' },
    },
    {
      name: 'a node selector leaves the other nodes out',
      tolerateTaints: true,
      selector: 'os=linux',
      probe: ['n1', 'n4'],
      out: { n2: 'not-ready', n3: 'cordoned', n5: 'not-selected' },
    },
  ];
  for (const c of scopeCases) {
    test(c.name, () => {
      const selector = parseNodeSelector(c.selector);
      assert.ok(selector.ok);
      const scope = nodeScope(nodes, { tolerateTaints: c.tolerateTaints, nodeSelector: selector.value });
      assert.deepEqual(scope.probe, c.probe);
      assert.deepEqual(
        Object.fromEntries(scope.all.flatMap((n) => (n.excluded ? [[n.name, n.excluded.kind]] : []))),
        c.out,
      );
      const tainted = scope.all.find((n) => n.excluded?.kind === 'tainted')?.excluded;
      if (tainted?.kind === 'tainted') assert.deepEqual(tainted.taints, ['dedicated=gpu:NoSchedule']);
    });
  }

  test('a node selector that is not key=value is refused with the part at fault', () => {
    assert.deepEqual(parseNodeSelector('os=linux,gpu'), { ok: false, error: '"gpu" is not key=value' });
  });
});

describe('what people and scripts read', () => {
  test('-o json: a top-level nodes array in the contract shape', async () => {
    const { report, verdicts } = await round([denyIngressX, denyEgressY], nodesNotEnforcing(['n1']));
    const json = JSON.parse(auditJson({ report, nodes: verdicts, dryRun: false, details: false })) as {
      nodes: Record<string, unknown>[];
    };
    assert.deepEqual(
      json.nodes.map((n) => Object.keys(n).sort()),
      [0, 1].map(() => [
        'inconclusive',
        'name',
        'probes',
        'reason',
        'status',
        'unexpectedAllow',
        'unexpectedDeny',
      ]),
    );
    assert.deepEqual(
      json.nodes.map((n) => [n.name, n.status]),
      [
        ['n1', 'not-enforcing'],
        ['n2', 'enforcing'],
      ],
    );
    assert.match(
      String(json.nodes[0]?.reason),
      /^\d+ denied flows that this node alone enforces got through, none was blocked \(e\.g\. /,
    );
    assert.match(
      String(json.nodes[1]?.reason),
      /^blocked all \d+ denied flows that this node alone enforces$/,
    );
  });

  test('the table names the broken node once and lists no flow it explains (--details lists them all)', async () => {
    const { report, verdicts } = await round([denyIngressX, denyEgressY], nodesNotEnforcing(['n1']));
    const text = auditTable({ report, nodes: verdicts, dryRun: false, details: false }, false);
    assert.match(
      text,
      new RegExp(
        `n1 is not enforcing NetworkPolicy: ${report.mismatches.length} unexpected-allow flows through it`,
      ),
    );
    assert.doesNotMatch(text, /unexpected-allow │|probed on/);
    assert.ok(text.split('\n').length < 20, text);
    const details = auditTable({ report, nodes: verdicts, dryRun: false, details: true }, false);
    assert.match(details, /probed on/);
    const first = report.mismatches[0];
    assert.ok(first && details.includes(`${first.from} -> ${first.to} ${first.port}/${first.protocol}`));
  });

  test('a healthy round says what it concluded, and how much was inconclusive', async () => {
    const { report, verdicts } = await round([denyIngressX], enforcingNetwork);
    const text = auditTable({ report, nodes: verdicts, dryRun: false, details: false }, false);
    assert.ok(
      text.includes(`No mismatch among ${report.summary.probes} conclusive flows; 0 inconclusive.`),
      text,
    );
  });

  test('a dry run says it is the engine prediction and that nothing was probed', async () => {
    const { report } = await round([denyIngressX], enforcingNetwork);
    const text = auditTable({ report, nodes: [], dryRun: true, details: false }, false);
    assert.match(
      text,
      /Dry run: the engine's prediction for \d+ flows \(\d+ allowed, \d+ denied\); no pod was created and nothing was probed\./,
    );
    assert.doesNotMatch(text, /No mismatch/);
  });
});
