// A compact fixture language for engine tests: pods("x/a", "x/b"), namespaces, policies as API objects.

import type { Namespace, NetworkPolicy, NetworkPolicySpec, Pod } from '../../src/core/k8s.ts';
import type { Protocol } from '../../src/core/traffic.ts';
import { parseIpLiteral } from '../../src/policy/cidr.ts';
import { type EvalContext, evaluate } from '../../src/policy/evaluate.ts';
import { type CniProfile, PROFILES } from '../../src/policy/profiles.ts';
import { buildSnapshot, type ClusterSnapshot, evalContext } from '../../src/policy/snapshot.ts';
import type { Endpoint, PodInfo, Verdict } from '../../src/policy/types.ts';

export interface PodOptions {
  labels?: Record<string, string>;
  ip?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

export function pod(key: string, opts: PodOptions = {}): Pod {
  const [namespace, name] = key.split('/') as [string, string];
  return {
    metadata: { namespace, name, labels: opts.labels ?? { pod: name } },
    spec: { containers: [{ name: 'c', ports: opts.ports ?? [] }] },
    ...(opts.ip ? { status: { podIP: opts.ip, podIPs: [{ ip: opts.ip }], phase: 'Running' } } : {}),
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): Namespace {
  return { metadata: { name, labels } };
}

export function policy(key: string, spec: NetworkPolicySpec): NetworkPolicy {
  const [ns, name] = key.split('/') as [string, string];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: ns, name },
    spec,
  };
}

export interface World {
  snapshot: ClusterSnapshot;
  ctx: EvalContext;
  pod(key: string): PodInfo;
  verdict(from: string, to: string, port: number, protocol?: Protocol): Verdict;
  allowed(from: string, to: string, port: number, protocol?: Protocol): boolean;
}

export function world(
  input: { namespaces?: Namespace[]; pods: Pod[]; policies?: NetworkPolicy[] },
  profile: CniProfile = PROFILES.generic,
): World {
  const { snapshot, issues } = buildSnapshot(
    { namespaces: input.namespaces ?? [], pods: input.pods, policies: input.policies ?? [] },
    profile,
  );
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new Error(`fixture has invalid objects: ${JSON.stringify(errors)}`);
  const ctx = evalContext(snapshot);
  const byKey = new Map(snapshot.pods.map((p) => [p.key as string, p]));
  const find = (key: string): PodInfo => {
    const p = byKey.get(key);
    if (!p) throw new Error(`no pod ${key} in fixture`);
    return p;
  };
  const endpoint = (to: string): Endpoint => {
    if (to.includes('/')) return { kind: 'pod', pod: find(to) };
    const ip = parseIpLiteral(to);
    if (!ip.ok) throw new Error(ip.error);
    return { kind: 'external', ip: ip.value, text: to };
  };
  const verdict = (from: string, to: string, port: number, protocol: Protocol = 'TCP'): Verdict =>
    evaluate(ctx, { from: find(from), to: endpoint(to), port, protocol });
  return {
    snapshot,
    ctx,
    pod: find,
    verdict,
    allowed: (from, to, port, protocol) => verdict(from, to, port, protocol).allowed,
  };
}

/** The upstream e2e netpol model: namespaces x, y, z; pods a, b, c; ports 80 and 81, TCP and UDP. */
export const UPSTREAM_NAMESPACES = ['x', 'y', 'z'] as const;
export const UPSTREAM_PODS = ['a', 'b', 'c'] as const;

export function upstreamModel(): { namespaces: Namespace[]; pods: Pod[]; keys: string[] } {
  const namespaces = UPSTREAM_NAMESPACES.map((n) => namespace(n, { ns: n }));
  const pods: Pod[] = [];
  const keys: string[] = [];
  let i = 0;
  for (const ns of UPSTREAM_NAMESPACES) {
    for (const p of UPSTREAM_PODS) {
      i++;
      keys.push(`${ns}/${p}`);
      pods.push(
        pod(`${ns}/${p}`, {
          labels: { pod: p },
          ip: `198.19.0.${i}`,
          ports: [80, 81].flatMap((port) =>
            (['TCP', 'UDP'] as const).map((protocol) => ({
              name: `serve-${port}-${protocol.toLowerCase()}`,
              containerPort: port,
              protocol,
            })),
          ),
        }),
      );
    }
  }
  return { namespaces, pods, keys };
}

/**
 * Expected reachability as the upstream suite writes it: a default plus overrides, pod to itself always
 * allowed (AllowLoopback). Returns the flows whose verdict differs from the expectation.
 */
export function reachabilityDiff(
  w: World,
  keys: readonly string[],
  port: number,
  protocol: Protocol,
  expect: (from: string, to: string) => boolean,
): string[] {
  const diffs: string[] = [];
  for (const from of keys) {
    for (const to of keys) {
      if (from === to) continue;
      const got = w.allowed(from, to, port, protocol);
      const want = expect(from, to);
      if (got !== want)
        diffs.push(
          `${from} -> ${to} ${port}/${protocol}: expected ${want ? 'allow' : 'deny'}, got ${got ? 'allow' : 'deny'}`,
        );
    }
  }
  return diffs;
}

export function ns(key: string): string {
  return key.split('/')[0] as string;
}
export function name(key: string): string {
  return key.split('/')[1] as string;
}
