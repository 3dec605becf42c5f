// Before the controller starts: does its Lease namespace exist, and may it do what it must? Without
// either it could only retry failing calls forever; it says so in one line and exits 2 instead.
// The decision is pure (`preflightProblem`); `preflight` asks the API server (a namespace GET and one
// SelfSubjectAccessReview per permission, which any authenticated user may create).
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiFailure, formatApiFailure } from './errors.ts';

export interface Permission {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** Undefined: in every namespace (cluster-wide). */
  readonly namespace?: string;
}

/** What the controller does, as RBAC names it (manifests/base/rbac.yaml grants exactly this). */
export function controllerPermissions(o: {
  readonly leaseNamespace: string;
  readonly canaryNamespace: string | undefined;
}): Permission[] {
  return [
    { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: o.leaseNamespace },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: o.leaseNamespace },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: o.leaseNamespace },
    ...(['namespaces', 'pods', 'nodes'] as const).flatMap((resource) =>
      (['list', 'watch'] as const).map((verb) => ({ verb, group: '', resource })),
    ),
    { verb: 'list', group: 'networking.k8s.io', resource: 'networkpolicies' },
    { verb: 'watch', group: 'networking.k8s.io', resource: 'networkpolicies' },
    { verb: 'create', group: '', resource: 'pods' },
    { verb: 'delete', group: '', resource: 'pods' },
    { verb: 'create', group: '', resource: 'configmaps' },
    { verb: 'create', group: 'events.k8s.io', resource: 'events' },
    { verb: 'list', group: 'events.k8s.io', resource: 'events' },
    ...(o.canaryNamespace
      ? [
          {
            verb: 'create',
            group: 'networking.k8s.io',
            resource: 'networkpolicies',
            namespace: o.canaryNamespace,
          },
        ]
      : []),
  ];
}

export function formatPermission(p: Permission): string {
  const resource = p.group ? `${p.resource}.${p.group}` : p.resource;
  return `${p.verb} ${resource}${p.namespace ? ` in ${p.namespace}` : ''}`;
}

/** The one line to exit with, or undefined when the controller can start. */
export function preflightProblem(o: {
  readonly leaseNamespace: string;
  /** false: the namespace GET answered 404. */
  readonly leaseNamespaceExists: boolean;
  readonly denied: readonly Permission[];
  readonly identity: string | undefined;
}): string | undefined {
  if (!o.leaseNamespaceExists)
    return `the Lease namespace "${o.leaseNamespace}" does not exist: create it (kubectl create namespace ${o.leaseNamespace}) or set --lease-namespace`;
  if (o.denied.length > 0)
    return `${o.identity ?? 'this identity'} lacks RBAC permissions: ${o.denied.map(formatPermission).join(', ')} (apply manifests/base/rbac.yaml, or grant them)`;
  return undefined;
}

/**
 * Asks the API server. Returns the problem line, or undefined to start. When the API server cannot
 * be asked (unreachable, a timeout) it logs that and lets the controller start: it survives an API
 * server away at start like one away later.
 */
export async function preflight(
  kc: k8s.KubeConfig,
  o: {
    readonly leaseNamespace: string;
    readonly canaryNamespace: string | undefined;
    readonly logger: Logger;
  },
): Promise<string | undefined> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  try {
    let leaseNamespaceExists = true;
    try {
      await core.readNamespace({ name: o.leaseNamespace });
    } catch (e) {
      const f = apiFailure(e);
      if (f.status === 404) leaseNamespaceExists = false;
      // 403: no `get namespaces`; the access reviews below name what is missing.
      else if (f.status !== 403) throw e;
    }
    const permissions = controllerPermissions(o);
    const reviews = await Promise.all(
      permissions.map((p) =>
        authz.createSelfSubjectAccessReview({
          body: {
            spec: {
              resourceAttributes: {
                verb: p.verb,
                group: p.group,
                resource: p.resource,
                ...(p.namespace ? { namespace: p.namespace } : {}),
              },
            },
          },
        }),
      ),
    );
    const denied = permissions.filter((_, i) => reviews[i]?.status?.allowed !== true);
    return preflightProblem({
      leaseNamespace: o.leaseNamespace,
      leaseNamespaceExists,
      denied,
      identity: kc.getCurrentUser()?.name,
    });
  } catch (e) {
    o.logger.warn(
      { failure: formatApiFailure(apiFailure(e)) },
      'start-up checks could not ask the API server (Lease namespace, RBAC); starting anyway',
    );
    return undefined;
  }
}
