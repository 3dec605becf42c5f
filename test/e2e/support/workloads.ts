// The small workload the controller e2e suites audit: `web` accepts only `client` (TCP and UDP 80).
import { LAB_IMAGE } from '../../../lab/image.ts';

export function webAndClient(namespace: string): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: ${namespace}, labels: { app: web } }
spec:
  containers: [{ name: c, image: ${LAB_IMAGE}, command: [netaudit], args: [agent, serve, --port, 80/TCP, --port, 80/UDP], ports: [{ containerPort: 80 }, { containerPort: 80, protocol: UDP }] }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${namespace}, labels: { app: client } }
spec:
  containers: [{ name: c, image: ${LAB_IMAGE}, command: [netaudit], args: [agent, serve, --port, 8080/TCP], ports: [{ containerPort: 8080 }] }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-from-client, namespace: ${namespace} }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: client } } }] }]
`;
}

/** A user's deny-all (ingress and egress) for the namespace: the next rounds must expect it. */
export function denyAll(namespace: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-all, namespace: ${namespace} }
spec: { podSelector: {}, policyTypes: [Ingress, Egress] }
`;
}
