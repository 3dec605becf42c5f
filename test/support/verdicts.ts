// The engine's per-pod verdicts as comparable text, keyed by flow: what property tests compare with
// a naive evaluation.
import { podVerdicts } from '../../src/expect/cells.ts';
import { type ExpectationEngine, verdictSignature } from '../../src/expect/engine.ts';

export function engineVerdicts(engine: ExpectationEngine): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of podVerdicts(engine)) {
    const to = v.to.kind === 'pod' ? v.to.pod.key : `ip:${v.to.text}`;
    out.set(`${v.from.key} ${to} ${v.port}/${v.protocol}`, verdictSignature(v.verdict));
  }
  return out;
}
