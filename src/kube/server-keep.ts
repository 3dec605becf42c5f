// Which server probe pods a run reuses, which it creates and which go (pure). Servers are kept
// across rounds: a round that finds its (class, node, ports) server running with enough life left
// probes it again instead of making a new one, so in steady state a round creates clients only.
import { createHash } from 'node:crypto';
import type { ServerSpec } from '../probe/runner.ts';

/** A server pod as the cluster lists it, reduced to what the decision needs. */
export interface KnownServer {
  readonly namespace: string;
  readonly name: string;
  readonly classId: string;
  readonly node: string;
  readonly specHash: string;
  readonly state: 'running' | 'pending' | 'failed' | 'deleting';
  /** When its activeDeadlineSeconds ends it (ms since the epoch). */
  readonly expiresAt: number;
  readonly createdAt: number;
}

export interface KeepDecision {
  /** Desired servers with a running pod that lives long enough. */
  readonly reuse: readonly { readonly spec: ServerSpec; readonly server: KnownServer }[];
  /** Desired servers whose pod is starting (an earlier run made it): wait for it. */
  readonly await: readonly { readonly spec: ServerSpec; readonly server: KnownServer }[];
  readonly create: readonly ServerSpec[];
  /** Pods in the namespaces this run owns that no desired server uses. */
  readonly remove: readonly KnownServer[];
}

/**
 * What a server pod is made from. Two servers with the same hash are interchangeable; a class whose
 * labels or ports change, or a new image, gives a new hash and so a new pod.
 */
export function serverSpecHash(spec: ServerSpec, image: string): string {
  const labels = Object.keys(spec.labels)
    .sort()
    .map((k) => [k, spec.labels[k]]);
  const text = JSON.stringify([
    spec.namespace,
    spec.classId,
    spec.node,
    labels,
    spec.listen.map((p) => `${p.port}/${p.protocol}`),
    spec.containerPorts.map((p) => `${p.name ?? ''}:${p.port}/${p.protocol}`),
    image,
  ]);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function decideServers(input: {
  readonly desired: readonly ServerSpec[];
  readonly known: readonly KnownServer[];
  readonly hashOf: (spec: ServerSpec) => string;
  readonly now: number;
  /** A pod with less life left than this is not reused: a run may need it that long. */
  readonly minRemainingMs: number;
  /** The namespaces this run owns: pods elsewhere belong to another run under way. */
  readonly owns: (namespace: string) => boolean;
}): KeepDecision {
  const byIdentity = new Map<string, KnownServer[]>();
  const identity = (namespace: string, classId: string, node: string, hash: string): string =>
    `${namespace}\u0000${classId}\u0000${node}\u0000${hash}`;
  for (const k of input.known) {
    const id = identity(k.namespace, k.classId, k.node, k.specHash);
    byIdentity.set(id, [...(byIdentity.get(id) ?? []), k]);
  }
  const lasts = (k: KnownServer): boolean => k.expiresAt - input.now >= input.minRemainingMs;
  const newestFirst = (a: KnownServer, b: KnownServer): number => b.createdAt - a.createdAt;
  const chosen = new Set<KnownServer>();
  const reuse: { spec: ServerSpec; server: KnownServer }[] = [];
  const wait: { spec: ServerSpec; server: KnownServer }[] = [];
  const create: ServerSpec[] = [];
  for (const spec of input.desired) {
    const same = [
      ...(byIdentity.get(identity(spec.namespace, spec.classId, spec.node, input.hashOf(spec))) ?? []),
    ]
      .filter(lasts)
      .sort(newestFirst);
    const running = same.find((k) => k.state === 'running' && !chosen.has(k));
    const starting = same.find((k) => k.state === 'pending' && !chosen.has(k));
    if (running) {
      chosen.add(running);
      reuse.push({ spec, server: running });
    } else if (starting) {
      chosen.add(starting);
      wait.push({ spec, server: starting });
    } else create.push(spec);
  }
  const remove = input.known.filter(
    (k) => input.owns(k.namespace) && !chosen.has(k) && k.state !== 'deleting',
  );
  return { reuse, await: wait, create, remove };
}
