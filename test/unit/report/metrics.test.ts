// Metrics: contract names, bounded mismatch series, zero series per kind.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Finding } from '../../../src/core/flow.ts';
import { Metrics } from '../../../src/report/metrics.ts';

function finding(i: number, kind: Finding['kind'] = 'unexpected-allow'): Finding {
  return {
    from: `src${i}/pod`,
    to: `dst${i}/pod`,
    port: 80,
    protocol: 'TCP',
    expected: kind === 'unexpected-allow' ? 'deny' : 'allow',
    observed: kind === 'unexpected-allow' ? 'connected' : 'timeout',
    kind,
    because: [],
    nodes: ['n1'],
    srcNode: 'n1',
    dstNode: 'n2',
    fromClass: 'c1',
    toClass: 'c2',
    fromPods: [],
    toPods: [],
    probePods: { client: 'a/b', server: 'c/d' },
    explanation: [],
  };
}

describe('metrics', () => {
  test('the contract names exist', async () => {
    const m = new Metrics({ processMetrics: false });
    m.setMismatches([]);
    m.rounds.inc({ outcome: 'completed' });
    m.probes.inc({ result: 'connected' });
    m.roundDuration.observe(1);
    m.lastRound.set(1);
    const text = await m.registry.metrics();
    for (const name of [
      'netaudit_mismatches',
      'netaudit_probes_total',
      'netaudit_audit_rounds_total',
      'netaudit_audit_round_duration_seconds',
      'netaudit_last_round_timestamp_seconds',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
  });

  test('mismatches are counted per namespace pair, port, protocol and kind, with a zero series per kind', async () => {
    const m = new Metrics({ processMetrics: false });
    m.setMismatches([finding(1), finding(1), finding(2, 'unexpected-deny')]);
    const text = await m.registry.metrics();
    assert.match(
      text,
      /netaudit_mismatches\{kind="unexpected-allow",src_namespace="src1",dst_namespace="dst1",port="80",protocol="TCP"\} 2/,
    );
    assert.match(
      text,
      /netaudit_mismatches\{kind="unexpected-deny",src_namespace="src2",dst_namespace="dst2",port="80",protocol="TCP"\} 1/,
    );
    m.setMismatches([]);
    const after = await m.registry.metrics();
    assert.doesNotMatch(after, /src1/);
    assert.match(
      after,
      /netaudit_mismatches\{kind="unexpected-allow",src_namespace="",dst_namespace="",port="",protocol=""\} 0/,
    );
  });

  test('series are capped; the rest is folded into _other and the total stays right', async () => {
    const m = new Metrics({ processMetrics: false, maxMismatchSeries: 5 });
    m.setMismatches(Array.from({ length: 50 }, (_, i) => finding(i)));
    const lines = (await m.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('netaudit_mismatches{'));
    const allow = lines.filter((l) => l.includes('kind="unexpected-allow"'));
    assert.ok(allow.length <= 6, `series: ${allow.length}`);
    const total = allow.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(total, 50);
    assert.ok(allow.some((l) => l.includes('src_namespace="_other"')));
  });
});
