// Label selectors with apimachinery's semantics (pkg/labels/selector.go):
//   matchLabels k: v        -> k In (v)
//   In / NotIn / Exists / DoesNotExist; NotIn and DoesNotExist match when the key is absent.
//   Every requirement must hold (AND). An empty selector ({}) matches everything.
// Case table of a selector field as the API has it:
//   absent  -> the caller decides (podSelector absent in a peer = "all pods"; see compile.ts)
//   {}      -> everything
//   set     -> the requirements below
import { assertNever } from '../core/assert-never.ts';
import type { LabelSelector, Labels } from '../core/k8s.ts';

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: ReadonlySet<string>;
}

export type CompiledSelector =
  | { readonly kind: 'everything' }
  | { readonly kind: 'requirements'; readonly requirements: readonly Requirement[] };

export const EVERYTHING: CompiledSelector = { kind: 'everything' };

export interface SelectorIssue {
  readonly field: string;
  readonly message: string;
}

const OPERATORS: readonly Operator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function isOperator(op: string): op is Operator {
  return (OPERATORS as readonly string[]).includes(op);
}

/** Compiles a selector; `field` is the selector's path, used in issues. */
export function compileSelector(
  selector: LabelSelector,
  field: string,
): { selector: CompiledSelector; issues: SelectorIssue[] } {
  const issues: SelectorIssue[] = [];
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push({ key, operator: 'In', values: new Set([value]) });
  }
  (selector.matchExpressions ?? []).forEach((expr, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!isOperator(expr.operator)) {
      issues.push({
        field: `${at}.operator`,
        message: `operator "${expr.operator}" is not valid; use In, NotIn, Exists or DoesNotExist`,
      });
      return;
    }
    const values = expr.values ?? [];
    if ((expr.operator === 'In' || expr.operator === 'NotIn') && values.length === 0) {
      issues.push({ field: `${at}.values`, message: `operator ${expr.operator} needs at least one value` });
      return;
    }
    if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && values.length > 0) {
      issues.push({ field: `${at}.values`, message: `operator ${expr.operator} takes no values` });
      return;
    }
    requirements.push({ key: expr.key, operator: expr.operator, values: new Set(values) });
  });
  const compiled: CompiledSelector =
    requirements.length === 0 ? EVERYTHING : { kind: 'requirements', requirements };
  return { selector: compiled, issues };
}

export function requirementMatches(req: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.has(labels[req.key] as string);
    case 'NotIn':
      return !has || !req.values.has(labels[req.key] as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return assertNever(req.operator);
  }
}

export function selectorMatches(selector: CompiledSelector, labels: Labels): boolean {
  switch (selector.kind) {
    case 'everything':
      return true;
    case 'requirements':
      return selector.requirements.every((r) => requirementMatches(r, labels));
    default:
      return assertNever(selector);
  }
}

/** The label keys a selector reads: what a pod's labels are projected onto for equivalence classes. */
export function selectorKeys(selector: CompiledSelector): string[] {
  return selector.kind === 'everything' ? [] : selector.requirements.map((r) => r.key);
}

/** kubectl-style text, e.g. `role=db,tier in (a,b),!legacy`; `{}` reads as "all". */
export function formatSelector(selector: CompiledSelector): string {
  if (selector.kind === 'everything') return '{} (all)';
  return selector.requirements
    .map((r) => {
      const values = [...r.values];
      switch (r.operator) {
        case 'In':
          return values.length === 1 ? `${r.key}=${values[0]}` : `${r.key} in (${values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
        default:
          return assertNever(r.operator);
      }
    })
    .join(',');
}
