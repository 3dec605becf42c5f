// CNI profiles: what the NetworkPolicy spec leaves to the implementation. Each behaviour names its
// source, so a user who sees "not covered by the spec" can check it. docs/cni-profiles.md has the table.
// A behaviour is here only when netaudit's expectations or explanations depend on it (a unit test
// fails on a field no code under src/ reads): netaudit never probes from a node, so traffic from the
// node is not a profile behaviour, and a pod's traffic to itself is always allowed for every CNI
// (the upstream tests' AllowLoopback(); the expectation engine skips it).

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
  /** Host-network pods use the node's identity: NetworkPolicy does not apply to them. */
  readonly hostNetworkPodsPoliced: Behaviour<boolean>;
}

const UPSTREAM_IPBLOCK =
  'Kubernetes e2e netpol "should enforce except clause while egress access to server in CIDR block" uses pod IPs in ipBlock';

export const PROFILES: Readonly<Record<ProfileName, CniProfile>> = {
  generic: {
    name: 'generic',
    ipBlockMatchesPodIPs: { value: true, source: UPSTREAM_IPBLOCK },
    sctpEnforced: { value: true, source: 'NetworkPolicy API reference: protocol TCP, UDP or SCTP' },
    hostNetworkPodsPoliced: {
      value: false,
      source: 'NetworkPolicy docs: behaviour for hostNetwork pods is undefined; most plugins ignore them',
    },
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
    hostNetworkPodsPoliced: {
      value: false,
      source: 'Calico docs: host-networked pods are protected by host endpoint policy, not NetworkPolicy',
    },
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
    hostNetworkPodsPoliced: {
      value: false,
      source: 'Cilium docs: host-networked pods take the host identity',
    },
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
    hostNetworkPodsPoliced: {
      value: false,
      source: 'kube-router pod.go isNetPolActionable: skips hostNetwork pods',
    },
  },
};

export function isProfileName(s: string): s is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(s);
}
