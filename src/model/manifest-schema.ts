// The shapes netaudit reads, as zod schemas. Built twice from one definition: `strict` reports
// unknown fields inside the parts netaudit models completely (NetworkPolicy, selectors, container
// ports) so they become warnings (they may be newer API fields, or typos); the stripping variant
// gives the typed value. Parts netaudit reads only a little of (pod specs, containers, metadata)
// are never strict: their other fields are legitimate and none of netaudit's business. Built the
// first time an object needs them (zod-runtime.ts).

import type { z } from 'zod';
import { type Zod, zod } from './zod-runtime.ts';

const LABEL_VALUE_NOT_STRING = 'label values must be strings: quote values such as "true", "1" or "null"';

function build(z: Zod, strict: boolean) {
  const obj = strict ? z.strictObject : z.object;
  const labels = z.record(z.string(), z.string({ error: LABEL_VALUE_NOT_STRING }));
  const metadata = z.object({
    name: z.string().optional(),
    namespace: z.string().optional(),
    labels: labels.optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
  });
  const requirement = obj({
    key: z.string(),
    operator: z.string(),
    values: z.array(z.string()).optional(),
  });
  const selector = obj({
    matchLabels: labels.optional(),
    matchExpressions: z.array(requirement).optional(),
  });
  const policyPort = obj({
    protocol: z.string().optional(),
    port: z
      .union([z.number().int(), z.string()], { error: 'must be a port number or a port name' })
      .optional(),
    endPort: z.number().int().optional(),
  });
  const peer = obj({
    podSelector: selector.optional(),
    namespaceSelector: selector.optional(),
    ipBlock: obj({ cidr: z.string(), except: z.array(z.string()).optional() }).optional(),
  });
  const networkPolicy = obj({
    apiVersion: z.string(),
    kind: z.string(),
    metadata,
    // The API server reads a missing spec or podSelector as `{}`: every pod of the namespace.
    spec: obj({
      podSelector: selector.optional(),
      policyTypes: z.array(z.string()).optional(),
      ingress: z
        .array(obj({ from: z.array(peer).optional(), ports: z.array(policyPort).optional() }))
        .optional(),
      egress: z
        .array(obj({ to: z.array(peer).optional(), ports: z.array(policyPort).optional() }))
        .optional(),
    }).optional(),
    // Old servers returned an empty status; harmless.
    status: z.unknown().optional(),
  });
  // ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2): modelled completely, like NetworkPolicy.
  const namespacedPod = obj({ namespaceSelector: selector.optional(), podSelector: selector.optional() });
  const cnpPeerFields = {
    namespaces: selector.optional(),
    pods: namespacedPod.optional(),
  };
  const cnpPort = obj({
    number: z.number().int().optional(),
    range: obj({ start: z.number().int(), end: z.number().int() }).optional(),
  });
  const cnpProtocolPort = obj({ destinationPort: cnpPort.optional() });
  const cnpProtocol = obj({
    tcp: cnpProtocolPort.optional(),
    udp: cnpProtocolPort.optional(),
    sctp: cnpProtocolPort.optional(),
    destinationNamedPort: z.string().optional(),
  });
  const cnpRuleFields = {
    name: z.string().optional(),
    action: z.string(),
    protocols: z.array(cnpProtocol).optional(),
  };
  const cnpIngressRule = obj({ ...cnpRuleFields, from: z.array(obj(cnpPeerFields)).optional() });
  const cnpEgressRule = obj({
    ...cnpRuleFields,
    to: z
      .array(
        obj({
          ...cnpPeerFields,
          networks: z.array(z.string()).optional(),
          nodes: selector.optional(),
          domainNames: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  });
  const clusterNetworkPolicy = obj({
    apiVersion: z.string(),
    kind: z.string(),
    metadata,
    spec: obj({
      tier: z.string(),
      priority: z.number().int(),
      subject: obj({ namespaces: selector.optional(), pods: namespacedPod.optional() }),
      ingress: z.array(cnpIngressRule).optional(),
      egress: z.array(cnpEgressRule).optional(),
    }),
    status: z.unknown().optional(),
  });
  const containerPort = obj({
    name: z.string().optional(),
    containerPort: z.number().int(),
    protocol: z.string().optional(),
    hostPort: z.number().int().optional(),
    hostIP: z.string().optional(),
  });
  const container = z.object({
    name: z.string(),
    image: z.string().optional(),
    ports: z.array(containerPort).optional(),
  });
  const podSpec = z.object({
    containers: z.array(container),
    initContainers: z.array(container).optional(),
    hostNetwork: z.boolean().optional(),
    nodeName: z.string().optional(),
  });
  const pod = z.object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata,
    spec: podSpec,
    status: z
      .object({
        phase: z.string().optional(),
        podIP: z.string().optional(),
        podIPs: z.array(z.object({ ip: z.string() })).optional(),
        hostIP: z.string().optional(),
      })
      .optional(),
  });
  const template = z.object({ metadata: metadata.optional(), spec: podSpec });
  const workload = z.object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata,
    spec: z.object({ template }),
  });
  const cronJob = z.object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata,
    spec: z.object({ jobTemplate: z.object({ spec: z.object({ template }) }) }),
  });
  const namespace = z.object({ apiVersion: z.string(), kind: z.string(), metadata });
  return { networkPolicy, clusterNetworkPolicy, pod, workload, cronJob, namespace };
}

export type Schemas = ReturnType<typeof build>;

let built: { readonly strict: Schemas; readonly loose: Schemas } | undefined;

/** The schemas: `strict` reports unknown fields, `loose` strips them. */
export function zodSchemas(): { readonly strict: Schemas; readonly loose: Schemas } {
  if (built === undefined) {
    const z = zod();
    built = { strict: build(z, true), loose: build(z, false) };
  }
  return built;
}

export type NetworkPolicyShape = z.infer<Schemas['networkPolicy']>;
export type PodShape = z.infer<Schemas['pod']>;
export type ClusterNetworkPolicyShape = z.infer<Schemas['clusterNetworkPolicy']>;
