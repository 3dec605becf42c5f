// The canary: a namespace owned by netaudit holding a known policy, probed on every node every round,
// so that a node that stopped enforcing is caught even when user policies give nothing to test.
// Its pods are not real workloads: they are stand-ins added to the round's input, so only netaudit's
// probe pods ever run there.
import type { NetworkPolicy, Pod } from '../core/k8s.ts';

export const CANARY_LABEL = 'canary.netaudit.io/role';
export const CANARY_POLICY = 'netaudit-canary';
export const CANARY_PORT = 8080;
/** Probe pods the canary takes on each node: a server and a client per class, 3 classes (round.test.ts checks it). */
export const CANARY_PODS_PER_NODE = 6;

/**
 * Canary checks between rounds run while they cost at most a quarter of the round budget: a check
 * takes the canary's pods on every node, two or three times per interval.
 */
export function canaryChecksFit(nodes: number, maxProbePods: number | undefined): boolean {
  return maxProbePods === undefined || CANARY_PODS_PER_NODE * nodes <= maxProbePods / 4;
}

/** protected accepts ingress only from allowed, on 8080 TCP and UDP; denied must be refused. */
export function canaryPolicy(namespace: string): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: CANARY_POLICY, namespace, labels: { 'app.kubernetes.io/managed-by': 'netaudit' } },
    spec: {
      podSelector: { matchLabels: { [CANARY_LABEL]: 'protected' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { [CANARY_LABEL]: 'allowed' } } }],
          ports: [
            { protocol: 'TCP', port: CANARY_PORT },
            { protocol: 'UDP', port: CANARY_PORT },
          ],
        },
      ],
    },
  };
}

/** The pods the canary's classes stand for (never created: probe pods imitate them). */
export function canaryPods(namespace: string): Pod[] {
  const pod = (role: string, ports: boolean): Pod => ({
    metadata: { namespace, name: `canary-${role}`, labels: { [CANARY_LABEL]: role } },
    spec: {
      containers: [
        {
          name: 'canary',
          ports: ports
            ? [
                { name: 'canary-tcp', containerPort: CANARY_PORT, protocol: 'TCP' },
                { name: 'canary-udp', containerPort: CANARY_PORT, protocol: 'UDP' },
              ]
            : [],
        },
      ],
    },
  });
  return [pod('protected', true), pod('allowed', false), pod('denied', false)];
}
