// Turns client-node failures into KubeApiError values that say what was being done and what to do.
import * as k8s from '@kubernetes/client-node';
import { KubeApiError, toError } from '../errors.ts';

export interface ApiCall {
  readonly verb: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
}

function statusOf(e: unknown): number | undefined {
  if (e instanceof k8s.ApiException) return e.code;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function reasonOf(e: unknown): string {
  if (e instanceof k8s.ApiException) {
    try {
      const body = JSON.parse(String(e.body)) as { message?: string };
      if (body.message) return body.message;
    } catch {
      // not JSON: fall through to the exception's own message
    }
  }
  return toError(e).message.split('\n')[0] ?? 'unknown error';
}

/**
 * What a failed API call said, for a log line: the HTTP status, the Status reason (NotFound,
 * Forbidden, ...) and its message, never the client's exception dump (headers, body, stack).
 */
export interface ApiFailure {
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly message: string;
  /** Trying again may succeed (see failureClass). */
  readonly retryable: boolean;
}

/**
 * Whether the same call may succeed later without anyone changing anything. Retryable: no answer
 * (the API server away), timeouts, conflicts, an expired resourceVersion (410), throttling (429) and
 * server errors (5xx). Terminal: what the request itself or the cluster's configuration decides
 * (400 bad request, 401 credentials, 403 RBAC or admission, 404 no such object or API, 405, 415,
 * 422 invalid): it fails the same way until a person fixes something, so it is said at error level.
 */
export function failureClass(status: number | undefined): 'retryable' | 'terminal' {
  if (status === undefined) return 'retryable';
  if ([408, 409, 410, 425, 429].includes(status) || status >= 500) return 'retryable';
  return status >= 400 ? 'terminal' : 'retryable';
}

export function apiFailure(e: unknown): ApiFailure {
  const inner = e instanceof KubeApiError && e.cause !== undefined ? e.cause : e;
  let reason: string | undefined;
  if (inner instanceof k8s.ApiException) {
    try {
      const body = JSON.parse(String(inner.body)) as { reason?: unknown };
      if (typeof body.reason === 'string' && body.reason !== '') reason = body.reason;
    } catch {
      // not a Status object: no reason
    }
  }
  const status = statusOf(inner) ?? (e instanceof KubeApiError ? e.status : undefined);
  return {
    status,
    reason,
    message: e instanceof KubeApiError ? e.message : reasonOf(inner),
    retryable: failureClass(status) === 'retryable',
  };
}

/** `404 NotFound: namespaces "x" not found`, or the message alone when no status came back. */
export function formatApiFailure(f: ApiFailure): string {
  const head = [f.status, f.reason].filter((x) => x !== undefined).join(' ');
  return head ? `${head}: ${f.message}` : f.message;
}

export function kubeError(call: ApiCall, e: unknown): KubeApiError {
  const status = statusOf(e);
  const reason = reasonOf(e);
  const hint =
    status === 401
      ? ' (the credentials were refused: check the kubeconfig)'
      : status === 403
        ? ` (no permission: grant ${call.verb} on ${call.resource}${call.namespace ? ` in namespace ${call.namespace}` : ' in every namespace'}; the controller's are in manifests/base/rbac.yaml)`
        : status === undefined
          ? ' (is the API server reachable?)'
          : '';
  return new KubeApiError({ ...call, ...(status !== undefined ? { status } : {}) }, `${reason}${hint}`, {
    cause: e,
  });
}

export async function call<T>(what: ApiCall, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw kubeError(what, e);
  }
}

export function isNotFound(e: unknown): boolean {
  return statusOf(e) === 404 || (e instanceof KubeApiError && e.status === 404);
}
