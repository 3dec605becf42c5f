// fast-check arbitraries shared by the probe tests.
import fc from 'fast-check';
import type { ProbeOutcome } from '../../../src/probe/outcome.ts';
import type { ProbePlan } from '../../../src/probe/plan.ts';

/** Valid plans: unique ids, IPv4/IPv6 hosts, every protocol, timeouts and attempts in range. */
export function arbitraryPlan(maxProbes = 60): fc.Arbitrary<ProbePlan> {
  const host = fc.oneof(
    fc.ipV4(),
    fc.ipV6().filter((h) => !h.includes('%')),
  );
  const spec = fc.record({
    host,
    port: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
  });
  const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/);
  return fc
    .record({
      timeoutMs: fc.integer({ min: 1, max: 60_000 }),
      attempts: fc.integer({ min: 1, max: 10 }),
      probes: fc.uniqueArray(fc.tuple(id, spec), { maxLength: maxProbes, selector: ([i]) => i }),
    })
    .map(({ timeoutMs, attempts, probes }) => ({
      version: 1 as const,
      timeoutMs,
      attempts,
      probes: probes.map(([i, s]) => ({ id: i, ...s })),
    }));
}

/** Any outcome a client can produce for a plan with this timeout (the client clamps ms to it). */
export function arbitraryOutcome(timeoutMs: number): fc.Arbitrary<ProbeOutcome> {
  return fc.oneof(
    fc.integer({ min: 0, max: timeoutMs }).map((ms) => ({ kind: 'connected' as const, ms })),
    fc.constant({ kind: 'refused' as const }),
    fc.constant({ kind: 'timeout' as const }),
    fc.string({ maxLength: 40 }).map((cause) => ({ kind: 'error' as const, cause })),
  );
}
