// A small error hierarchy: every error carries the context a person needs to act on it, and a cause.

export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
}

/** A problem with user input: a file, an object in it, and the field that is wrong. */
export interface ManifestIssue {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  /** `Kind ns/name` of the object, when one could be identified. */
  readonly object?: string;
  /** Dotted field path inside the object, e.g. `spec.ingress[0].from[1].ipBlock.cidr`. */
  readonly field?: string;
}

/**
 * Control characters (newlines, escape sequences, C1 codes), bidirectional overrides and line
 * separators written as escapes: names and values come from user input, and raw they could forge
 * log lines or rewrite a terminal.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function formatIssue(issue: ManifestIssue): string {
  const where = [issue.file && (issue.line ? `${issue.file}:${issue.line}` : issue.file), issue.object]
    .filter(Boolean)
    .join(' ');
  const field = issue.field ? ` ${issue.field}:` : '';
  return escapeForTerminal(`${issue.severity}: ${where ? `${where}:` : ''}${field} ${issue.message}`);
}

export class NetauditError extends Error {
  override readonly name: string = 'NetauditError';
  /** Errors netaudit raises carry messages meant for people; others get a stack trace. */
  readonly userFacing = true;
}

export class ManifestError extends NetauditError {
  override readonly name = 'ManifestError';
  readonly issues: readonly ManifestIssue[];
  constructor(issues: readonly ManifestIssue[], options?: ErrorOptions) {
    super(issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}

/** A failed call to the API server, with what was being done. */
export class KubeApiError extends NetauditError {
  override readonly name = 'KubeApiError';
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly objectName: string | undefined;
  readonly status: number | undefined;
  constructor(
    ctx: { verb: string; resource: string; namespace?: string; name?: string; status?: number },
    message: string,
    options?: ErrorOptions,
  ) {
    const target = [ctx.namespace, ctx.name].filter(Boolean).join('/');
    super(`${ctx.verb} ${ctx.resource}${target ? ` ${target}` : ''}: ${message}`, options);
    this.verb = ctx.verb;
    this.resource = ctx.resource;
    this.namespace = ctx.namespace;
    this.objectName = ctx.name;
    this.status = ctx.status;
  }
}

/** The user asked for something that cannot be done as asked (bad flag value, unknown pod, ...). */
export class UsageError extends NetauditError {
  override readonly name = 'UsageError';
}

export function isNetauditError(e: unknown): e is NetauditError {
  return e instanceof NetauditError;
}

/** Wraps anything thrown into an Error, so nothing non-Error escapes. */
export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
