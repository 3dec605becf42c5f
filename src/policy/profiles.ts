// CNI profiles: what the NetworkPolicy spec leaves to the implementation. Each behaviour names its
// source, so a user who sees "not covered by the spec" can check it. docs/cni-profiles.md has the table.

export type ProfileName = 'generic' | 'calico' | 'cilium' | 'kube-router';
export const PROFILE_NAMES: readonly ProfileName[] = ['generic', 'calico', 'cilium', 'kube-router'];

export interface Behaviour<T> {
  readonly value: T;
  readonly source: string;
}

export interface CniProfile {
  readonly name: ProfileName;
  /** Does an ipBlock peer match the IPs of pods in the cluster? */
  readonly ipBlockMatchesPodIPs: Behaviour<boolean>;
  /** Are SCTP rules enforced? */
  readonly sctpEnforced: Behaviour<boolean>;
  /** Is traffic from the pod's own node (kubelet probes, host processes) allowed regardless of policy? */
  readonly nodeToPodAlwaysAllowed: Behaviour<boolean>;
  /** Host-network pods use the node's identity: NetworkPolicy does not apply to them. */
  readonly hostNetworkPodsPoliced: Behaviour<boolean>;
  /** A pod reaching its own IP: most CNIs never filter it; the upstream tests call AllowLoopback(). */
  readonly selfTrafficAllowed: Behaviour<boolean>;
}

const UPSTREAM_IPBLOCK =
  'Kubernetes e2e netpol "should enforce except clause while egress access to server in CIDR block" uses pod IPs in ipBlock';
const SELF = 'Kubernetes e2e netpol: reachability.AllowLoopback() in every scenario';

export const PROFILES: Readonly<Record<ProfileName, CniProfile>> = {
  generic: {
    name: 'generic',
    ipBlockMatchesPodIPs: { value: true, source: UPSTREAM_IPBLOCK },
    sctpEnforced: { value: true, source: 'NetworkPolicy API reference: protocol TCP, UDP or SCTP' },
    nodeToPodAlwaysAllowed: {
      value: false,
      source:
        'not covered by the spec ("traffic to and from the node where a Pod is running is always allowed" is CNI-specific)',
    },
    hostNetworkPodsPoliced: {
      value: false,
      source: 'NetworkPolicy docs: behaviour for hostNetwork pods is undefined; most plugins ignore them',
    },
    selfTrafficAllowed: { value: true, source: SELF },
  },
  calico: {
    name: 'calico',
    ipBlockMatchesPodIPs: {
      value: true,
      source:
        'Calico docs (Kubernetes policy): ipBlock becomes nets/notNets, matched on any source or destination IP',
    },
    sctpEnforced: {
      value: true,
      source: 'Calico docs: SCTP supported in policy (needs the kernel sctp module)',
    },
    nodeToPodAlwaysAllowed: {
      value: false,
      source: 'Calico docs: host traffic is subject to policy unless a HostEndpoint or failsafe allows it',
    },
    hostNetworkPodsPoliced: {
      value: false,
      source: 'Calico docs: host-networked pods are protected by host endpoint policy, not NetworkPolicy',
    },
    selfTrafficAllowed: { value: true, source: SELF },
  },
  cilium: {
    name: 'cilium',
    ipBlockMatchesPodIPs: {
      value: false,
      source:
        'Cilium docs (Layer 3 CIDR based): CIDR rules do not apply to traffic where both sides are managed by Cilium or use a node IP',
    },
    sctpEnforced: {
      value: false,
      source: 'Cilium docs: SCTP support is beta and off unless --enable-sctp is set',
    },
    nodeToPodAlwaysAllowed: {
      value: true,
      source:
        'Cilium docs: the host entity is allowed to reach local endpoints by default (allow-localhost=auto)',
    },
    hostNetworkPodsPoliced: {
      value: false,
      source: 'Cilium docs: host-networked pods take the host identity',
    },
    selfTrafficAllowed: { value: true, source: SELF },
  },
  'kube-router': {
    name: 'kube-router',
    ipBlockMatchesPodIPs: {
      value: true,
      source:
        'kube-router pkg/controllers/netpol/policy.go: ipBlock becomes a hash:net ipset matched on the IP',
    },
    sctpEnforced: {
      value: true,
      source: 'kube-router policy.go: rules are written with -p sctp (traffic needs kernel SCTP support)',
    },
    nodeToPodAlwaysAllowed: {
      value: true,
      source: 'kube-router network_policy_controller.go: "-m addrtype --src-type LOCAL -d <podIP> -j ACCEPT"',
    },
    hostNetworkPodsPoliced: {
      value: false,
      source: 'kube-router pod.go isNetPolActionable: skips hostNetwork pods',
    },
    selfTrafficAllowed: { value: true, source: SELF },
  },
};

export function isProfileName(s: string): s is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(s);
}
