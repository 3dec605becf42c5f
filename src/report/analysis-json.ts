// `netaudit analyze -o json`, a contract that scripts read (docs/analyze-output.md): {verdicts: [{from, to,
// port, protocol, allowed, egress: {isolated, allowedBy}, ingress: {isolated, allowedBy}}]}; with
// --classes, {classes, verdicts} between class ids. Fields beyond the contract are additions only
// (ClusterNetworkPolicy: `tier`, `deniedBy`, `passedBy`, `undetermined`, present only when one took part).
import type { ManifestIssue } from '../errors.ts';
import type { ClassVerdict, PodVerdict } from '../expect/cells.ts';
import { type DirectionVerdict, formatPolicyRef, formatRuleRef, type Verdict } from '../policy/types.ts';

export interface DirectionJson {
  isolated: boolean;
  allowed: boolean;
  allowedBy: string[];
  isolatedBy: string[];
  note?: string;
  /** ClusterNetworkPolicy additions, present only when one took part. */
  tier?: 'Admin' | 'Baseline';
  deniedBy?: string[];
  passedBy?: string[];
  undetermined?: { why: string; rules: string[] };
}

export interface VerdictJson {
  from: string;
  to: string;
  port: number;
  protocol: string;
  allowed: boolean;
  egress: DirectionJson;
  ingress: DirectionJson;
}

function directionJson(v: DirectionVerdict): DirectionJson {
  return {
    isolated: v.isolated,
    allowed: v.allowed,
    allowedBy: v.allowedBy.map(formatRuleRef),
    isolatedBy: v.isolatedBy.map(formatPolicyRef),
    ...(v.note ? { note: v.note } : {}),
    ...(v.tier ? { tier: v.tier } : {}),
    ...(v.deniedBy ? { deniedBy: v.deniedBy.map(formatRuleRef) } : {}),
    ...(v.passedBy ? { passedBy: v.passedBy.map(formatRuleRef) } : {}),
    ...(v.undetermined
      ? { undetermined: { why: v.undetermined.why, rules: v.undetermined.rules.map(formatRuleRef) } }
      : {}),
  };
}

export function verdictJson(
  from: string,
  to: string,
  port: number,
  protocol: string,
  v: Verdict,
): VerdictJson {
  return {
    from,
    to,
    port,
    protocol,
    allowed: v.allowed,
    egress: directionJson(v.egress),
    ingress: directionJson(v.ingress),
  };
}

export function podVerdictJson(v: PodVerdict): VerdictJson {
  const to = v.to.kind === 'pod' ? v.to.pod.key : `ip:${v.to.text}`;
  return verdictJson(v.from.key, to, v.port, v.protocol, v.verdict);
}

export function classVerdictJson(v: ClassVerdict): VerdictJson {
  return verdictJson(v.from, v.to, v.port, v.protocol, v.verdict);
}

export function issueJson(issue: ManifestIssue): Record<string, string | number> {
  const out: Record<string, string | number> = { severity: issue.severity, message: issue.message };
  if (issue.file) out.file = issue.file;
  if (issue.line) out.line = issue.line;
  if (issue.object) out.object = issue.object;
  if (issue.field) out.field = issue.field;
  return out;
}
