// Splits a plan so that each part's results fit in one termination message, whatever the outcomes:
// the caller launches one client pod per part. Pure.

import { err, ok, type Result } from '../core/result.ts';
import type {} from '../core/traffic.ts';
import { ProbeFormatError } from './errors.ts';
import {
  encodePlan,
  formatProbe,
  PLAN_ARG_LIMIT,
  type ProbePlan,
  type ProbeSpec,
  planHeader,
  validatePlan,
} from './plan.ts';
import {
  causeTableBytes,
  resultHeaderBytes,
  TERMINATION_MESSAGE_LIMIT,
  worstCaseProbeBytes,
} from './results.ts';

/** Bytes kept free under the limit, in case a kubelet or a future format adds a little. */
export const RESULT_MARGIN_BYTES = 96;

/**
 * Greedy, order-preserving split: every part keeps the plan's timeout and attempts, its worst-case
 * results stay under `maxBytes - RESULT_MARGIN_BYTES`, and its encoded plan under `maxPlanBytes`.
 * Returns an error for a plan validatePlan rejects, or limits too small for one probe; an empty plan
 * gives no part.
 */
export function splitPlan(
  plan: ProbePlan,
  maxBytes: number = TERMINATION_MESSAGE_LIMIT,
  maxPlanBytes: number = PLAN_ARG_LIMIT,
): Result<ProbePlan[], ProbeFormatError> {
  const valid = validatePlan(plan);
  if (!valid.ok) return valid;
  const resultBudget = maxBytes - RESULT_MARGIN_BYTES;
  // The header's count of probes is bounded by the whole plan's count.
  const fixedResult = resultHeaderBytes(plan.probes.length) + causeTableBytes();
  const fixedPlan = planHeader(plan).length;
  const parts: ProbePlan[] = [];
  let current: ProbeSpec[] = [];
  let resultBytes = fixedResult;
  let planBytes = fixedPlan;
  for (const probe of plan.probes) {
    const r = worstCaseProbeBytes(probe.id, plan);
    const p = formatProbe(probe).length + 1;
    if (fixedResult + r > resultBudget || fixedPlan + p > maxPlanBytes) {
      // Cannot happen within validatePlan's bounds and the default limits; a caller's tiny limit can.
      return err(
        new ProbeFormatError(
          { format: 'plan', token: probe.id },
          `probe alone does not fit in ${maxBytes} bytes of results`,
        ),
      );
    }
    if (current.length > 0 && (resultBytes + r > resultBudget || planBytes + p > maxPlanBytes)) {
      parts.push({ ...plan, probes: current });
      current = [];
      resultBytes = fixedResult;
      planBytes = fixedPlan;
    }
    current.push(probe);
    resultBytes += r;
    planBytes += p;
  }
  if (current.length > 0) parts.push({ ...plan, probes: current });
  return ok(parts);
}

/** The `--plan` arguments of a split plan, ready for the client pods' args. */
export function encodeSplitPlan(plan: ProbePlan, maxBytes?: number): Result<string[], ProbeFormatError> {
  const parts = splitPlan(plan, maxBytes);
  return parts.ok ? ok(parts.value.map(encodePlan)) : parts;
}
