// Turns zod's shape errors into field issues a person can act on: "is required", "must be a
// number, not the string "80"", and unknown fields as warnings (newer API fields, or typos).

import type { z } from 'zod';
import { editDistance } from './edit-distance.ts';
import type { PathSegment } from './field-path.ts';
import type { FieldIssue } from './validate.ts';
import { zod } from './zod-runtime.ts';

const REQUIRED_HINTS: Readonly<Record<string, string>> = {
  podSelector: '; use {} to select every pod in the namespace',
  containers: '; list the containers and their ports',
};

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a map';
    default:
      return `a ${expected}`;
  }
}

function pathOf(issue: z.core.$ZodIssue): PathSegment[] {
  return issue.path.filter((p): p is string | number => typeof p !== 'symbol');
}

/** Messages zod writes itself start like this; ours (set with `error:`) do not. */
function isZodDefault(message: string): boolean {
  return message.startsWith('Invalid input');
}

/** The object schema at `path` below `schema`, to list the fields it knows. */
function objectAt(schema: z.ZodType, path: readonly PathSegment[]): z.ZodObject | undefined {
  const { ZodArray, ZodObject, ZodOptional, ZodType } = zod();
  let s: z.ZodType = schema;
  let i = 0;
  for (;;) {
    if (s instanceof ZodOptional) s = s.unwrap() as z.ZodType;
    else if (i === path.length) return s instanceof ZodObject ? s : undefined;
    else if (s instanceof ZodArray && typeof path[i] === 'number') {
      s = s.element as z.ZodType;
      i++;
    } else if (s instanceof ZodObject && typeof path[i] === 'string') {
      const next: unknown = s.shape[path[i] as string];
      if (!(next instanceof ZodType)) return undefined;
      s = next;
      i++;
    } else return undefined;
  }
}

/** A typo of a known field silently changes a policy's meaning (`ingres` = no ingress rules): name it. */
function suggestion(key: string, known: readonly string[]): string {
  const close = known.filter((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2);
  return close.length > 0 ? `; did you mean "${close[0]}"?` : ' (a newer API field, or a typo?)';
}

/** Converts one zod issue; `schema` is the root schema, used to suggest known field names. */
export function fromZodIssue(issue: z.core.$ZodIssue, schema?: z.ZodType): FieldIssue[] {
  const path = pathOf(issue);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = schema ? Object.keys(objectAt(schema, path)?.shape ?? {}) : [];
      return issue.keys.map((k) => ({
        severity: 'warning',
        path: [...path, k],
        message: `unknown field "${k}" is ignored${suggestion(k, known)}`,
      }));
    }
    case 'invalid_type': {
      if (!isZodDefault(issue.message)) return [{ severity: 'error', path, message: issue.message }];
      const last = path[path.length - 1];
      if (issue.input === undefined) {
        const name = typeof last === 'string' ? last : 'this field';
        return [{ severity: 'error', path, message: `${name} is required${REQUIRED_HINTS[name] ?? ''}` }];
      }
      const message = `must be ${describeExpected(issue.expected)}, not ${describeValue(issue.input)}`;
      return [{ severity: 'error', path, message }];
    }
    default:
      return [{ severity: 'error', path, message: issue.message }];
  }
}
