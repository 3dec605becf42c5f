// A human summary of a plan's results, for a person running `agent probe` in a terminal.
import { type FinalOutcome, finalOutcome, type ProbeOutcome, type ProbeResult } from './outcome.ts';
import type { ProbePlan } from './plan.ts';

export function formatSummary(plan: ProbePlan, results: readonly ProbeResult[]): string {
  const byId = new Map(results.map((r) => [r.id, r]));
  const counts = new Map<FinalOutcome['kind'], number>();
  const lines = plan.probes.map((p) => {
    const attempts = byId.get(p.id)?.attempts ?? [];
    const final = finalOutcome(attempts);
    counts.set(final.kind, (counts.get(final.kind) ?? 0) + 1);
    const target = p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
    return `${p.id.padEnd(4)} ${`${target}/${p.protocol}`.padEnd(28)} ${describeFinal(final)}  (${attempts.map(describe).join(', ')})`;
  });
  const total = [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ');
  return `${lines.join('\n')}\n${plan.probes.length} probes: ${total || 'none'}\n`;
}

function describeFinal(f: FinalOutcome): string {
  switch (f.kind) {
    case 'connected':
      return f.failedAttempts > 0 ? `connected (flaky: ${f.failedAttempts} failed)` : 'connected';
    case 'error':
      return `error ${f.cause}`;
    case 'mixed':
      return 'mixed (inconclusive)';
    default:
      return f.kind;
  }
}

function describe(o: ProbeOutcome): string {
  switch (o.kind) {
    case 'connected':
      return `connected ${o.ms}ms`;
    case 'error':
      return `error ${o.cause}`;
    default:
      return o.kind;
  }
}
