import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProbeOutcome, ProbeResult } from '../../../src/probe/outcome.ts';
import type { ProbePlan } from '../../../src/probe/plan.ts';
import {
  checkResults,
  decodeResults,
  encodeResults,
  MAX_CAUSE_LENGTH,
  MAX_CAUSES,
  worstCaseResultBytes,
} from '../../../src/probe/results.ts';
import { encodeSplitPlan, splitPlan } from '../../../src/probe/split.ts';
import { arbitraryOutcome, arbitraryPlan } from './arbitraries.ts';

const c = (ms: number): ProbeOutcome => ({ kind: 'connected', ms });
const r: ProbeOutcome = { kind: 'refused' };
const t: ProbeOutcome = { kind: 'timeout' };
const e = (cause: string): ProbeOutcome => ({ kind: 'error', cause });

describe('the results message', () => {
  const cases: { name: string; results: ProbeResult[]; text: string }[] = [
    { name: 'no probe', results: [], text: 'netaudit-probe v1 0\n' },
    {
      name: 'one code per attempt, causes in a table',
      results: [
        { id: '0', attempts: [c(3), c(2)] },
        { id: '1', attempts: [r, r] },
        { id: '2', attempts: [t, e('EHOSTUNREACH')] },
        { id: '3', attempts: [e('EHOSTUNREACH'), e('EMFILE')] },
      ],
      text: 'netaudit-probe v1 4\n0:c3c2 1:rr 2:te0 3:e0e1\n!0=EHOSTUNREACH !1=EMFILE',
    },
  ];
  for (const k of cases) {
    it(`encodes and decodes ${k.name}`, () => {
      assert.equal(encodeResults(k.results), k.text);
      assert.deepEqual(decodeResults(k.text), { ok: true, value: k.results });
    });
  }

  it('keeps causes inside its alphabet and length', () => {
    const text = encodeResults([
      { id: 'a', attempts: [e('connect failed: weird\nthing '.repeat(5)), e('')] },
    ]);
    const decoded = decodeResults(text);
    assert.ok(decoded.ok);
    const [first, second] = decoded.value[0]?.attempts ?? [];
    assert.deepEqual(first, e('connect_failed__weird_thi'.slice(0, MAX_CAUSE_LENGTH)));
    assert.deepEqual(second, e('unknown'));
  });

  it(`folds causes beyond ${MAX_CAUSES - 1} distinct ones into 'other'`, () => {
    const attempts = Array.from({ length: 10 }, (_, i) => e(`E${i}`));
    const decoded = decodeResults(encodeResults([{ id: 'a', attempts }]));
    assert.ok(decoded.ok);
    const causes = decoded.value[0]?.attempts.map((a) => (a.kind === 'error' ? a.cause : a.kind));
    assert.deepEqual(causes, ['E0', 'E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'other', 'other', 'other']);
  });

  const bad: { text: string; error: RegExp }[] = [
    { text: '', error: /not netaudit probe results/ },
    { text: 'hello', error: /not netaudit probe results/ },
    { text: 'netaudit-probe v2 1\na:r', error: /unsupported results version/ },
    { text: 'netaudit-probe v1 2\na:r', error: /announces 2 results but 1 were found \(truncated/ },
    { text: 'netaudit-probe v1 1\na:r b:t', error: /announces 1 results but 2/ },
    { text: 'netaudit-probe v1 1\na:x', error: /codes must be/ },
    { text: 'netaudit-probe v1 1\na:', error: /codes must be/ },
    { text: 'netaudit-probe v1 1\na:c', error: /codes must be/ },
    { text: 'netaudit-probe v1 1\nar', error: /expected <id>:<codes>/ },
    { text: 'netaudit-probe v1 1\na:e1\n!0=EX', error: /cause 1 is not defined/ },
    { text: 'netaudit-probe v1 1\na:e0\n!0=EX !0=EY', error: /cause 0 defined twice/ },
    { text: 'netaudit-probe v1 1\na:e0\n!0=E/X', error: /expected !<k>=<cause>/ },
    { text: 'netaudit-probe v1 2\na:r a:t', error: /duplicate probe id 'a'/ },
    {
      text: 'netaudit-probe error: --plan: plan token 0: not a plan',
      error: /could not run its plan: --plan/,
    },
  ];
  for (const k of bad) {
    it(`refuses ${JSON.stringify(k.text.slice(0, 40))} with an error naming the problem`, () => {
      const decoded = decodeResults(k.text);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.error.message, k.error);
    });
  }

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        decodeResults(s);
        decodeResults(`netaudit-probe v1 1\n${s}`);
      }),
    );
  });

  it('round-trips any results (causes sanitized)', () => {
    const arb = fc.uniqueArray(
      fc.tuple(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/),
        fc.array(arbitraryOutcome(60_000), { minLength: 1, maxLength: 10 }),
      ),
      { selector: ([id]) => id, maxLength: 50 },
    );
    fc.assert(
      fc.property(arb, (rows) => {
        const results = rows.map(([id, attempts]) => ({ id, attempts }));
        const decoded = decodeResults(encodeResults(results));
        assert.ok(decoded.ok);
        assert.equal(decoded.value.length, results.length);
        for (const [i, got] of decoded.value.entries()) {
          const want = results[i];
          assert.equal(got.id, want?.id);
          assert.deepEqual(
            got.attempts.map((a) => a.kind),
            want?.attempts.map((a) => a.kind),
          );
        }
      }),
    );
  });

  it('checks results against their plan: every probe once, every attempt', () => {
    const plan: ProbePlan = {
      version: 1,
      timeoutMs: 1000,
      attempts: 2,
      probes: [
        { id: 'a', host: '127.0.0.1', port: 80, protocol: 'TCP' },
        { id: 'b', host: '127.0.0.1', port: 81, protocol: 'UDP' },
      ],
    };
    const a = { id: 'a', attempts: [r, r] };
    const b = { id: 'b', attempts: [t, t] };
    assert.deepEqual(checkResults(plan, [b, a]), { ok: true, value: [a, b] });
    assert.match(String(!checkResults(plan, [a]).ok && 'missing'), /missing/);
    const short = checkResults(plan, [a, { id: 'b', attempts: [t] }]);
    assert.ok(!short.ok && /has 1 attempts, the plan asked 2/.test(short.error.message));
    const extra = checkResults(plan, [a, b, { id: 'z', attempts: [t, t] }]);
    assert.ok(!extra.ok && /'z' that is not in the plan/.test(extra.error.message));
  });
});

/**
 * The longest results a part can produce: a full table of distinct long causes, and every other attempt
 * at `c<timeoutMs>`, the longest code (at least as long as `e<k>`).
 */
function worstResults(plan: ProbePlan): ProbeResult[] {
  let n = 0;
  const longest = (): ProbeOutcome =>
    n++ < MAX_CAUSES ? e(`E${n}`.padEnd(MAX_CAUSE_LENGTH + 5, 'X')) : c(plan.timeoutMs);
  return plan.probes.map((p) => ({ id: p.id, attempts: Array.from({ length: plan.attempts }, longest) }));
}

describe('splitting a plan for 4 KiB termination messages', () => {
  it('keeps every part under 4096 bytes of results, whatever the outcomes, and loses no probe', () => {
    fc.assert(
      fc.property(arbitraryPlan(400), fc.integer({ min: 0, max: 2 ** 31 }), (plan, seed) => {
        const parts = splitPlan(plan);
        assert.ok(parts.ok);
        assert.deepEqual(
          parts.value.flatMap((p) => p.probes),
          plan.probes,
        );
        for (const part of parts.value) {
          assert.ok(part.probes.length > 0);
          assert.equal(part.timeoutMs, plan.timeoutMs);
          assert.equal(part.attempts, plan.attempts);
          assert.ok(worstCaseResultBytes(part) <= 4096 - 64, `worst case ${worstCaseResultBytes(part)}`);
          const worst = Buffer.byteLength(encodeResults(worstResults(part)));
          assert.ok(worst <= worstCaseResultBytes(part), `${worst} > ${worstCaseResultBytes(part)}`);
          const random =
            fc.sample(
              fc.tuple(
                ...part.probes.map(() =>
                  fc.array(arbitraryOutcome(part.timeoutMs), {
                    minLength: part.attempts,
                    maxLength: part.attempts,
                  }),
                ),
              ),
              { numRuns: 1, seed },
            )[0] ?? [];
          const results = part.probes.map((p, i) => ({ id: p.id, attempts: random[i] ?? [] }));
          assert.ok(Buffer.byteLength(encodeResults(results)) <= worstCaseResultBytes(part));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a large plan in few parts: 1000 IPv4 probes of 1 attempt need 3 pods', () => {
    const probes = Array.from({ length: 1000 }, (_, i) => ({
      id: i.toString(36),
      host: `10.244.${i >> 8}.${i & 255}`,
      port: 80,
      protocol: 'TCP' as const,
    }));
    const parts = splitPlan({ version: 1, timeoutMs: 1000, attempts: 1, probes });
    assert.ok(parts.ok);
    assert.equal(parts.value.length, 3);
    const args = encodeSplitPlan({ version: 1, timeoutMs: 1000, attempts: 1, probes });
    assert.ok(args.ok && args.value.every((a) => a.length < 16 * 1024));
  });

  it('gives no part for an empty plan, and an error for an invalid one or a limit too small', () => {
    assert.deepEqual(splitPlan({ version: 1, timeoutMs: 1000, attempts: 1, probes: [] }), {
      ok: true,
      value: [],
    });
    const invalid = splitPlan({ version: 1, timeoutMs: 0, attempts: 1, probes: [] });
    assert.equal(invalid.ok, false);
    const tiny = splitPlan(
      {
        version: 1,
        timeoutMs: 1000,
        attempts: 1,
        probes: [{ id: 'a', host: '::1', port: 1, protocol: 'TCP' }],
      },
      200,
    );
    assert.ok(!tiny.ok && /does not fit in 200 bytes/.test(tiny.error.message));
  });
});
