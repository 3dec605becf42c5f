// `--profile auto`: which CNI profile fits the cluster, decided from what runs in it. Pure: the
// evidence (CNI agent pods, node annotations) in, the profile with what was found and why out. An
// explicit `--profile` never gets here.
//
// | CNI         | agent pod label         | agent image              | node annotation prefix |
// |-------------|-------------------------|--------------------------|------------------------|
// | Cilium      | k8s-app=cilium          | .../cilium/cilium[:@]    | io.cilium.             |
// | Calico      | k8s-app=calico-node     | .../calico/node[:@]      | projectcalico.org/     |
// | kube-router | k8s-app=kube-router     | .../kube-router[:@]      | kube-router.io/        |
//
// When several are found, the first in this order wins (Cilium chained behind another CNI enforces
// the policies itself) and the others are named. Nothing found: `generic`, saying so.
import type { ProfileName } from './profiles.ts';

export interface CniEvidence {
  readonly pods: readonly {
    readonly namespace: string;
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly images: readonly string[];
  }[];
  readonly nodes: readonly { readonly name: string; readonly annotations: readonly string[] }[];
}

export interface Detection {
  readonly profile: ProfileName;
  /** What was seen, e.g. `pod kube-system/cilium-x7k2p (label k8s-app=cilium)`. */
  readonly found: readonly string[];
  readonly reason: string;
}

interface Signature {
  readonly profile: Exclude<ProfileName, 'generic'>;
  readonly cni: string;
  readonly label: string;
  readonly image: RegExp;
  readonly annotation: string;
}

const SIGNATURES: readonly Signature[] = [
  {
    profile: 'cilium',
    cni: 'Cilium',
    label: 'cilium',
    image: /(^|\/)cilium\/cilium([:@]|$)/,
    annotation: 'io.cilium.',
  },
  {
    profile: 'calico',
    cni: 'Calico',
    label: 'calico-node',
    image: /(^|\/)calico\/node([:@]|$)/,
    annotation: 'projectcalico.org/',
  },
  {
    profile: 'kube-router',
    cni: 'kube-router',
    label: 'kube-router',
    image: /(^|\/)kube-router([:@]|$)/,
    annotation: 'kube-router.io/',
  },
];

function evidenceFor(sig: Signature, e: CniEvidence): string[] {
  const found: string[] = [];
  for (const p of e.pods) {
    const where = `pod ${p.namespace}/${p.name}`;
    if (p.labels['k8s-app'] === sig.label) found.push(`${where} (label k8s-app=${sig.label})`);
    else {
      const image = p.images.find((i) => sig.image.test(i));
      if (image) found.push(`${where} (image ${image})`);
    }
  }
  for (const n of e.nodes) {
    const key = n.annotations.find((a) => a.startsWith(sig.annotation));
    if (key) found.push(`node ${n.name} (annotation ${key})`);
  }
  return found;
}

export function detectProfile(e: CniEvidence): Detection {
  const hits = SIGNATURES.map((sig) => ({ sig, found: evidenceFor(sig, e) })).filter(
    (h) => h.found.length > 0,
  );
  const [first, ...others] = hits;
  if (!first)
    return {
      profile: 'generic',
      found: [],
      reason:
        'no Cilium, Calico or kube-router agent pod or node annotation found: generic (upstream semantics)',
    };
  const count = first.found.length;
  const also = others.length > 0 ? `; also found ${others.map((o) => o.sig.cni).join(', ')}` : '';
  return {
    profile: first.sig.profile,
    found: hits.flatMap((h) => h.found),
    reason: `${first.sig.cni} runs in the cluster (${first.found[0]}${count > 1 ? ` and ${count - 1} more` : ''})${also}`,
  };
}
