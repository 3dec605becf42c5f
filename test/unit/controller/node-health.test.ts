// The controller's node verdicts across runs: what a run that learned nothing keeps, which transitions
// become Events, and the `netaudit_node_enforcing` series.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import type { NodeStatus, NodeVerdict, NotCovered } from '../../../src/audit/nodes.ts';
import { mergeNodeVerdicts, nodeTransitions, reportedBroken } from '../../../src/controller/node-health.ts';
import { EventRecorder, type EventSink } from '../../../src/kube/events.ts';
import { Metrics } from '../../../src/report/metrics.ts';

function verdict(name: string, status: NodeStatus, why?: NotCovered): NodeVerdict {
  const evidence: NodeVerdict['evidence'] =
    status === 'not-covered'
      ? { kind: 'not-covered', why: why ?? { kind: 'no-probe' } }
      : status === 'unknown'
        ? { kind: 'no-evidence' }
        : {
            kind: 'evidence',
            leaked: status === 'enforcing' ? 0 : 4,
            held: status === 'not-enforcing' ? 0 : 6,
            examples: [],
          };
  return { name, status, probes: 10, unexpectedAllow: 0, unexpectedDeny: 0, inconclusive: 0, evidence };
}

const map = (...vs: NodeVerdict[]) => new Map(vs.map((v) => [v.name, v]));
const statuses = (m: ReadonlyMap<string, NodeVerdict>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.status]));

describe('node verdicts across runs', () => {
  const cases: {
    name: string;
    before: NodeVerdict[];
    run: NodeVerdict[];
    want: Record<string, NodeStatus>;
  }[] = [
    {
      name: 'a run with evidence replaces what was known',
      before: [verdict('a', 'enforcing'), verdict('b', 'not-enforcing')],
      run: [verdict('a', 'not-enforcing'), verdict('b', 'enforcing')],
      want: { a: 'not-enforcing', b: 'enforcing' },
    },
    {
      name: 'a run that learned nothing (unknown, or outside the rotation window) keeps the last known verdict',
      before: [verdict('a', 'not-enforcing'), verdict('b', 'enforcing')],
      run: [verdict('a', 'unknown'), verdict('b', 'not-covered', { kind: 'outside-window' })],
      want: { a: 'not-enforcing', b: 'enforcing' },
    },
    {
      name: 'a node now cordoned or NotReady is not-covered, whatever it was',
      before: [verdict('a', 'not-enforcing'), verdict('b', 'enforcing')],
      run: [
        verdict('a', 'not-covered', { kind: 'cordoned' }),
        verdict('b', 'not-covered', { kind: 'not-ready' }),
      ],
      want: { a: 'not-covered', b: 'not-covered' },
    },
    {
      name: 'a node gone from the cluster is forgotten',
      before: [verdict('a', 'enforcing'), verdict('gone', 'not-enforcing')],
      run: [verdict('a', 'enforcing')],
      want: { a: 'enforcing' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(statuses(mergeNodeVerdicts(map(...c.before), c.run)), c.want);
    });
  }

  test('a run that started before the evidence a verdict rests on does not overwrite it (rounds and checks overlap)', () => {
    const before = map(verdict('a', 'not-enforcing'), verdict('b', 'enforcing'));
    // A round that started at 100 finishes after a canary check that started at 200 judged `a`.
    const times = { probedAt: 100, previousAt: new Map([['a', 200]]) };
    const next = mergeNodeVerdicts(before, [verdict('a', 'enforcing'), verdict('b', 'not-enforcing')], times);
    assert.deepEqual(statuses(next), { a: 'not-enforcing', b: 'not-enforcing' });
    // The same evidence from a run that started later wins.
    const later = mergeNodeVerdicts(before, [verdict('a', 'enforcing')], {
      probedAt: 300,
      previousAt: times.previousAt,
    });
    assert.deepEqual(statuses(later), { a: 'enforcing' });
  });

  test('transitions: broken once (partial to not-enforcing is no new Warning), recovered once', () => {
    const before = map(
      verdict('a', 'enforcing'),
      verdict('b', 'partial'),
      verdict('c', 'not-enforcing'),
      verdict('d', 'unknown'),
    );
    const after = map(
      verdict('a', 'not-enforcing'),
      verdict('b', 'not-enforcing'),
      verdict('c', 'enforcing'),
      verdict('d', 'partial'),
      verdict('e', 'enforcing'),
    );
    const t = nodeTransitions(before, after);
    assert.deepEqual(
      t.broke.map((v) => v.name),
      ['a', 'd'],
    );
    assert.deepEqual(
      t.recovered.map((v) => v.name),
      ['c'],
    );
  });

  test('after a leader change: a node the old leader reported broken gets no second Warning, and its NodeEnforcing when it recovered', () => {
    const inherited = map(reportedBroken('a'), reportedBroken('b'));
    const next = mergeNodeVerdicts(inherited, [verdict('a', 'not-enforcing'), verdict('b', 'enforcing')]);
    const t = nodeTransitions(inherited, next);
    assert.deepEqual(t.broke, []);
    assert.deepEqual(
      t.recovered.map((v) => v.name),
      ['b'],
    );
    // A run that learned nothing about it keeps the old leader's word.
    assert.equal(mergeNodeVerdicts(inherited, [verdict('a', 'unknown')]).get('a')?.status, 'not-enforcing');
  });

  test('netaudit_node_enforcing: 1 enforcing, 0 not-enforcing or partial, no series while unknown or not covered', async () => {
    const m = new Metrics({ processMetrics: false });
    m.setNodeVerdicts([
      verdict('a', 'enforcing'),
      verdict('b', 'not-enforcing'),
      verdict('c', 'partial'),
      verdict('d', 'unknown'),
      verdict('e', 'not-covered', { kind: 'cordoned' }),
    ]);
    const lines = (await m.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('netaudit_node_enforcing{') || l.startsWith('netaudit_nodes_not_covered{'));
    assert.deepEqual(lines.sort(), [
      'netaudit_node_enforcing{node="a"} 1',
      'netaudit_node_enforcing{node="b"} 0',
      'netaudit_node_enforcing{node="c"} 0',
      'netaudit_nodes_not_covered{reason="cordoned"} 1',
    ]);
  });

  test('a node Event regards the Node, in the default namespace, from netaudit; NodeEnforcing closes the open Warning', async () => {
    const created: { namespace: string; body: k8s.EventsV1Event }[] = [];
    const replaced: k8s.EventsV1Event[] = [];
    const sink: EventSink = {
      create: async (namespace, body) => {
        created.push({ namespace, body });
        return { ...body, metadata: { ...body.metadata, name: `e${created.length}` } };
      },
      replace: async (_n, _name, body) => {
        replaced.push(body);
        return body;
      },
      list: async (selector) =>
        created
          .map((c) => ({ ...c.body, metadata: { ...c.body.metadata, name: 'e1' } }))
          .filter(
            (e) => selector === 'netaudit.io/open=true' && e.metadata.labels?.['netaudit.io/open'] === 'true',
          ),
    };
    const recorder = new EventRecorder(sink, 'netaudit-0', pino({ level: 'silent' }));
    await recorder.node(
      'node-1',
      'Warning',
      'NodeNotEnforcing',
      'node-1 is not enforcing NetworkPolicy: ...',
    );
    assert.equal(created.length, 1);
    const [e] = created;
    assert.equal(e?.namespace, 'default');
    assert.deepEqual(e?.body.regarding, { apiVersion: 'v1', kind: 'Node', name: 'node-1' });
    assert.equal(e?.body.reason, 'NodeNotEnforcing');
    assert.equal(e?.body.type, 'Warning');
    assert.equal(e?.body.reportingController, 'netaudit.io/controller');
    assert.equal(e?.body.metadata?.labels?.['netaudit.io/open'], 'true');
    assert.deepEqual(
      (await recorder.openNodeWarnings()).map((w) => w.regarding?.name),
      ['node-1'],
    );
    await recorder.node('node-1', 'Normal', 'NodeEnforcing', 'node-1 enforces NetworkPolicy again: ...');
    assert.equal(replaced.length, 1, 'the open Warning is closed');
    assert.equal(replaced[0]?.metadata?.labels?.['netaudit.io/open'], 'false');
    assert.equal(created[1]?.body.reason, 'NodeEnforcing');
    assert.equal(created[1]?.body.metadata?.labels, undefined);
  });
});
