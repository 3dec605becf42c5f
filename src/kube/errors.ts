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

export function kubeError(call: ApiCall, e: unknown): KubeApiError {
  const status = statusOf(e);
  const reason = reasonOf(e);
  const hint =
    status === 401
      ? ' (the credentials were refused: check the kubeconfig)'
      : status === 403
        ? ` (no permission: grant ${call.verb} on ${call.resource}; see manifests/rbac.yaml)`
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
