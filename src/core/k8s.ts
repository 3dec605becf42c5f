// The subset of the Kubernetes API that netaudit reads, as plain data. Objects from manifests and from
// the API server (client-node) both fit these shapes; nothing here depends on a Kubernetes client.

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | undefined;
}

export interface LabelSelector {
  readonly matchLabels?: Labels | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | undefined;
}

export interface ObjectMeta {
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  readonly labels?: Labels | undefined;
  readonly uid?: string | undefined;
  readonly resourceVersion?: string | undefined;
}

export type IntOrString = number | string;

export interface NetworkPolicyPort {
  readonly protocol?: string | undefined;
  readonly port?: IntOrString | undefined;
  readonly endPort?: number | undefined;
}

export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[] | undefined;
}

export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector | undefined;
  readonly namespaceSelector?: LabelSelector | undefined;
  readonly ipBlock?: IPBlock | undefined;
}

export interface NetworkPolicyIngressRule {
  readonly from?: readonly NetworkPolicyPeer[] | undefined;
  readonly ports?: readonly NetworkPolicyPort[] | undefined;
}

export interface NetworkPolicyEgressRule {
  readonly to?: readonly NetworkPolicyPeer[] | undefined;
  readonly ports?: readonly NetworkPolicyPort[] | undefined;
}

export interface NetworkPolicySpec {
  readonly podSelector: LabelSelector;
  readonly policyTypes?: readonly string[] | undefined;
  readonly ingress?: readonly NetworkPolicyIngressRule[] | undefined;
  readonly egress?: readonly NetworkPolicyEgressRule[] | undefined;
}

export interface NetworkPolicy {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata: ObjectMeta;
  readonly spec: NetworkPolicySpec;
}

export interface ContainerPort {
  readonly name?: string | undefined;
  readonly containerPort: number;
  readonly protocol?: string | undefined;
}

export interface Container {
  readonly name: string;
  readonly image?: string | undefined;
  readonly ports?: readonly ContainerPort[] | undefined;
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[] | undefined;
  readonly hostNetwork?: boolean | undefined;
  readonly nodeName?: string | undefined;
}

export interface PodStatus {
  readonly phase?: string | undefined;
  readonly podIP?: string | undefined;
  readonly podIPs?: readonly { readonly ip: string }[] | undefined;
  readonly hostIP?: string | undefined;
}

export interface Pod {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata: ObjectMeta;
  readonly spec: PodSpec;
  readonly status?: PodStatus | undefined;
}

export interface Namespace {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata: ObjectMeta;
}

// ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2, as in sigs.k8s.io/network-policy-api
// v0.2.0): cluster-scoped, in an Admin tier before NetworkPolicy or a Baseline tier after it.

export interface NamespacedPod {
  readonly namespaceSelector?: LabelSelector | undefined;
  readonly podSelector?: LabelSelector | undefined;
}

export interface ClusterNetworkPolicySubject {
  readonly namespaces?: LabelSelector | undefined;
  readonly pods?: NamespacedPod | undefined;
}

export interface ClusterNetworkPolicyPeer {
  readonly namespaces?: LabelSelector | undefined;
  readonly pods?: NamespacedPod | undefined;
  /** Egress only. */
  readonly networks?: readonly string[] | undefined;
  /** Egress only (experimental in the API). */
  readonly nodes?: LabelSelector | undefined;
  /** Egress only, Accept only (experimental in the API). */
  readonly domainNames?: readonly string[] | undefined;
}

export interface ClusterNetworkPolicyPort {
  readonly number?: number | undefined;
  readonly range?: { readonly start: number; readonly end: number } | undefined;
}

export interface ClusterNetworkPolicyProtocol {
  readonly tcp?: { readonly destinationPort?: ClusterNetworkPolicyPort | undefined } | undefined;
  readonly udp?: { readonly destinationPort?: ClusterNetworkPolicyPort | undefined } | undefined;
  readonly sctp?: { readonly destinationPort?: ClusterNetworkPolicyPort | undefined } | undefined;
  readonly destinationNamedPort?: string | undefined;
}

export interface ClusterNetworkPolicyRule {
  readonly name?: string | undefined;
  readonly action: string;
  /** Ingress rules. */
  readonly from?: readonly ClusterNetworkPolicyPeer[] | undefined;
  /** Egress rules. */
  readonly to?: readonly ClusterNetworkPolicyPeer[] | undefined;
  readonly protocols?: readonly ClusterNetworkPolicyProtocol[] | undefined;
}

export interface ClusterNetworkPolicySpec {
  readonly tier: string;
  readonly priority: number;
  readonly subject: ClusterNetworkPolicySubject;
  readonly ingress?: readonly ClusterNetworkPolicyRule[] | undefined;
  readonly egress?: readonly ClusterNetworkPolicyRule[] | undefined;
}

export interface ClusterNetworkPolicy {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata: ObjectMeta;
  readonly spec: ClusterNetworkPolicySpec;
}

/** The well-known label the API server puts on every namespace (since 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
