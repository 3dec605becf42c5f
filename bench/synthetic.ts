// Synthetic clusters for the benchmark, as API objects (what a user's manifests or the API server give).
// Deterministic: the same shape and seed give the same objects, byte for byte.
//
// The shape follows real clusters:
//  - namespaces belong to a team and an environment (labels team, env), a few apps each;
//  - an app has a few replicas that share their labels (app, tier, team, env) and differ only in
//    labels no selector reads (pod-template-hash is per app, the pod name per replica): this is what
//    keeps classes small;
//  - every namespace has a default-deny (ingress only, or ingress and egress with a DNS allow);
//  - app-to-app allows inside a namespace (podSelector), some with matchExpressions, named ports,
//    numeric ports and endPort ranges;
//  - cross-namespace allows (namespaceSelector by team or by kubernetes.io/metadata.name, sometimes
//    AND a podSelector, sometimes NotIn / Exists expressions);
//  - egress to a few distinct external CIDRs (ipBlock with except).
// Pod IPs are taken in order from 198.18.0.0/15 (RFC 2544 benchmarking range): at most 131,070 pods.
import type {
  ContainerPort,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from '../src/core/k8s.ts';
import { NAMESPACE_NAME_LABEL } from '../src/core/k8s.ts';

export interface ClusterShape {
  readonly pods: number;
  readonly namespaces: number;
  readonly policies: number;
}

export interface SyntheticCluster {
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly policies: NetworkPolicy[];
}

/** Named sizes. 10k is the first target; `antrea` is the scale Antrea's CI holds its controller to. */
export const SIZES: Readonly<Record<string, ClusterShape>> = {
  '200': { pods: 200, namespaces: 10, policies: 40 },
  '1k': { pods: 1_000, namespaces: 50, policies: 200 },
  '10k': { pods: 10_000, namespaces: 500, policies: 2_000 },
  '50k': { pods: 50_000, namespaces: 2_500, policies: 10_000 },
  '100k': { pods: 100_000, namespaces: 5_000, policies: 20_000 },
  antrea: { pods: 130_000, namespaces: 25_000, policies: 75_000 },
};

/** A size by name, or `PODS:NAMESPACES:POLICIES` (e.g. `20000:1000:4000`). */
export function parseShape(text: string): ClusterShape {
  const named = SIZES[text];
  if (named) return named;
  const parts = text.split(':').map(Number);
  const [pods, namespaces, policies] = parts;
  if (
    parts.length !== 3 ||
    pods === undefined ||
    namespaces === undefined ||
    policies === undefined ||
    !parts.every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw new Error(
      `size "${text}" is neither one of ${Object.keys(SIZES).join(', ')} nor PODS:NAMESPACES:POLICIES`,
    );
  }
  return { pods, namespaces, policies };
}

/** mulberry32: a small, fast, seeded PRNG (uniform in [0, 1)). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

type Tier = 'frontend' | 'backend' | 'data';

interface AppKind {
  readonly name: string;
  readonly tier: Tier;
  readonly ports: readonly ContainerPort[];
}

// What runs in a namespace: container ports with the names real charts give them.
const APP_KINDS: readonly AppKind[] = [
  { name: 'web', tier: 'frontend', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
  {
    name: 'api',
    tier: 'backend',
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
  },
  { name: 'auth', tier: 'backend', ports: [{ name: 'https', containerPort: 8443, protocol: 'TCP' }] },
  { name: 'worker', tier: 'backend', ports: [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }] },
  { name: 'db', tier: 'data', ports: [{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }] },
  { name: 'cache', tier: 'data', ports: [{ name: 'redis', containerPort: 6379, protocol: 'TCP' }] },
  {
    name: 'queue',
    tier: 'data',
    ports: [
      { name: 'amqp', containerPort: 5672, protocol: 'TCP' },
      { name: 'management', containerPort: 15672, protocol: 'TCP' },
    ],
  },
  {
    name: 'search',
    tier: 'data',
    ports: [
      { name: 'http', containerPort: 9200, protocol: 'TCP' },
      { name: 'transport', containerPort: 9300, protocol: 'TCP' },
    ],
  },
];

const ENVS = ['prod', 'staging', 'dev'] as const;

// A few distinct external destinations, as real egress policies name them.
const EXTERNAL_BLOCKS: readonly { cidr: string; except?: string[] }[] = [
  { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] },
  { cidr: '52.94.0.0/16' },
  { cidr: '140.82.112.0/20', except: ['140.82.120.0/24'] },
  { cidr: '100.64.0.0/10', except: ['100.64.0.0/16'] },
  { cidr: '192.0.2.0/24' },
];

interface App {
  readonly name: string;
  readonly kind: AppKind;
  readonly replicas: number;
}

interface NamespacePlan {
  readonly name: string;
  readonly team: string;
  readonly env: (typeof ENVS)[number];
  readonly apps: App[];
  /** Default-deny in both directions (with a DNS egress allow), not only ingress. */
  readonly denyEgress: boolean;
}

/** The 198.18.0.0/15 address number i (i >= 1). */
function podIp(i: number): string {
  const n = (198 << 24) + (18 << 16) + i;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
function spread(total: number, parts: number, index: number): number {
  const base = Math.floor(total / parts);
  return base + (index < total % parts ? 1 : 0);
}

function nsName(i: number): string {
  return `ns-${String(i).padStart(5, '0')}`;
}

export function generateCluster(shape: ClusterShape, seed = 1): SyntheticCluster {
  if (shape.pods > 131_070)
    throw new Error(`at most 131,070 pods fit in 198.18.0.0/15 (asked ${shape.pods})`);
  if (shape.namespaces < 2) throw new Error('at least 2 namespaces (kube-system and one other)');
  const rng = new Rng(seed);
  const teams = Math.max(3, Math.round(shape.namespaces / 8));
  const plans: NamespacePlan[] = [];

  // Namespace 0 is kube-system with the cluster DNS, which default-deny namespaces allow egress to.
  const dnsReplicas = Math.min(2, spread(shape.pods, shape.namespaces, 0));
  plans.push({
    name: 'kube-system',
    team: 'platform',
    env: 'prod',
    denyEgress: false,
    apps: [
      {
        name: 'coredns',
        replicas: dnsReplicas,
        kind: {
          name: 'coredns',
          tier: 'backend',
          ports: [
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
            { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
          ],
        },
      },
    ],
  });
  for (let n = 1; n < shape.namespaces; n++) {
    plans.push({
      name: nsName(n),
      team: `team-${rng.int(teams)}`,
      env: rng.pick(ENVS),
      denyEgress: rng.chance(0.3),
      apps: [],
    });
  }
  // Apps of a few replicas each, until the namespace's share of pods is used.
  for (let n = 1; n < shape.namespaces; n++) {
    const plan = plans[n] as NamespacePlan;
    let left = spread(shape.pods - dnsReplicas, shape.namespaces - 1, n - 1);
    const used = new Map<string, number>();
    while (left > 0) {
      const kind = rng.pick(APP_KINDS);
      const replicas = Math.min(left, rng.between(1, 5));
      const seen = used.get(kind.name) ?? 0;
      used.set(kind.name, seen + 1);
      plan.apps.push({ name: seen === 0 ? kind.name : `${kind.name}-${seen + 1}`, kind, replicas });
      left -= replicas;
    }
  }

  const namespaces: Namespace[] = plans.map((p) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: p.name, labels: { [NAMESPACE_NAME_LABEL]: p.name, team: p.team, env: p.env } },
  }));

  const pods: Pod[] = [];
  for (const plan of plans) {
    for (const app of plan.apps) {
      const hash = rng.int(0xffffffff).toString(16).padStart(8, '0').slice(0, 8);
      for (let r = 0; r < app.replicas; r++) {
        const ip = podIp(pods.length + 1);
        const labels: Record<string, string> = {
          app: app.name,
          tier: app.kind.tier,
          team: plan.team,
          env: plan.env,
          'pod-template-hash': hash,
        };
        if (app.kind.name === 'coredns') labels['k8s-app'] = 'kube-dns';
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { namespace: plan.name, name: `${app.name}-${hash}-${r}`, labels },
          spec: {
            nodeName: `node-${rng.int(Math.max(1, Math.ceil(shape.pods / 100)))}`,
            containers: [
              { name: app.kind.name, image: `registry.example/${app.kind.name}:1`, ports: app.kind.ports },
            ],
          },
          status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
        });
      }
    }
  }

  const policies: NetworkPolicy[] = [];
  const make = (ns: string, name: string, spec: NetworkPolicy['spec']): void => {
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: ns, name },
      spec,
    });
  };
  const dnsEgress: NetworkPolicyEgressRule = {
    to: [
      {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };

  // Policies per namespace: the first is the default-deny; kube-system gets none (as usual).
  const withPolicies = plans.length - 1;
  for (let n = 1; n < plans.length; n++) {
    const plan = plans[n] as NamespacePlan;
    const count = spread(shape.policies, withPolicies, n - 1);
    if (count === 0) continue;
    if (plan.denyEgress) {
      make(plan.name, 'default-deny', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        egress: [dnsEgress, { to: [{ podSelector: {} }] }],
      });
    } else {
      make(plan.name, 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
    }
    for (let k = 1; k < count; k++) {
      const roll = rng.next();
      if (roll < 0.45) appToApp(rng, plan, k, make);
      else if (roll < 0.72) crossNamespace(rng, plans, plan, teams, k, make);
      else if (roll < 0.87) externalEgress(rng, plan, k, make);
      else expressions(rng, plan, k, make);
    }
  }
  return { namespaces, pods, policies };
}

type Make = (ns: string, name: string, spec: NetworkPolicy['spec']) => void;

/** The ports of a rule allowing traffic to `app`: named, numeric, or a range with endPort. */
function portsTo(rng: Rng, app: App): NetworkPolicyPort[] {
  const first = app.kind.ports[0] as ContainerPort;
  const roll = rng.next();
  if (roll < 0.4) return [{ protocol: 'TCP', port: first.name ?? first.containerPort }];
  if (roll < 0.8) return [{ protocol: 'TCP', port: first.containerPort }];
  if (roll < 0.9) return [{ protocol: 'TCP', port: first.containerPort, endPort: first.containerPort + 100 }];
  return app.kind.ports.map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.containerPort }));
}

function appSelector(app: App): LabelSelector {
  return { matchLabels: { app: app.name } };
}

function appToApp(rng: Rng, plan: NamespacePlan, k: number, make: Make): void {
  const to = rng.pick(plan.apps);
  const from = rng.pick(plan.apps);
  const peer: NetworkPolicyPeer = rng.chance(0.25)
    ? {
        podSelector: {
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'backend'] }],
        },
      }
    : { podSelector: appSelector(from) };
  const ingress: NetworkPolicyIngressRule[] = [{ from: [peer], ports: portsTo(rng, to) }];
  if (rng.chance(0.2)) {
    // Metrics scraping from the monitoring team's namespaces, on a named port.
    ingress.push({
      from: [{ namespaceSelector: { matchLabels: { team: 'team-0' } } }],
      ports: [{ protocol: 'TCP', port: 'metrics' }],
    });
  }
  make(plan.name, `allow-${from.name}-to-${to.name}-${k}`, {
    podSelector: appSelector(to),
    policyTypes: ['Ingress'],
    ingress,
  });
}

function crossNamespace(
  rng: Rng,
  plans: readonly NamespacePlan[],
  plan: NamespacePlan,
  teams: number,
  k: number,
  make: Make,
): void {
  const to = rng.pick(plan.apps);
  const roll = rng.next();
  let peer: NetworkPolicyPeer;
  if (roll < 0.35) {
    peer = { namespaceSelector: { matchLabels: { team: `team-${rng.int(teams)}` } } };
  } else if (roll < 0.65) {
    const other = plans[1 + rng.int(plans.length - 1)] as NamespacePlan;
    const otherApp = rng.pick(other.apps.length > 0 ? other.apps : plan.apps);
    peer = {
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: other.name } },
      podSelector: appSelector(otherApp),
    };
  } else if (roll < 0.85) {
    peer = {
      namespaceSelector: {
        matchLabels: { team: plan.team },
        matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }],
      },
      podSelector: { matchLabels: { tier: 'frontend' } },
    };
  } else {
    peer = {
      namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
      podSelector: { matchLabels: { app: 'web' } },
    };
  }
  make(plan.name, `allow-cross-ns-to-${to.name}-${k}`, {
    podSelector: appSelector(to),
    policyTypes: ['Ingress'],
    ingress: [{ from: [peer], ports: portsTo(rng, to) }],
  });
}

function externalEgress(rng: Rng, plan: NamespacePlan, k: number, make: Make): void {
  const app = rng.pick(plan.apps);
  const blocks = [rng.pick(EXTERNAL_BLOCKS)];
  if (rng.chance(0.3)) blocks.push(rng.pick(EXTERNAL_BLOCKS));
  const to: NetworkPolicyPeer[] = blocks.map((b) => ({
    ipBlock: b.except ? { cidr: b.cidr, except: b.except } : { cidr: b.cidr },
  }));
  const ports: NetworkPolicyPort[] = rng.chance(0.2)
    ? [{ protocol: 'TCP', port: 8000, endPort: 8999 }]
    : [{ protocol: 'TCP', port: 443 }];
  make(plan.name, `allow-${app.name}-egress-external-${k}`, {
    podSelector: appSelector(app),
    policyTypes: ['Egress'],
    egress: [{ to, ports }],
  });
}

function expressions(rng: Rng, plan: NamespacePlan, k: number, make: Make): void {
  const roll = rng.next();
  const target: LabelSelector =
    roll < 0.5
      ? { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'data'] }] }
      : {
          matchExpressions: [
            { key: 'app', operator: 'Exists' },
            { key: 'tier', operator: 'NotIn', values: ['frontend'] },
          ],
        };
  make(plan.name, `allow-backends-${k}`, {
    podSelector: target,
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [
          {
            podSelector: {
              matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'backend'] }],
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 8000, endPort: 9999 }],
      },
    ],
  });
}
