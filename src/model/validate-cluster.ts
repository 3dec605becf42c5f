// The API server's checks of a ClusterNetworkPolicy (the CRD's OpenAPI schema and CEL rules of
// network-policy-api v0.2.0), on objects whose shape zod already checked: the compile issues (tier,
// priority, one subject, one field per peer, actions, ports) plus label syntax, list sizes, rule
// name length, CIDR and domain name syntax. Returns issues with field paths.

import type { ClusterNetworkPolicy, LabelSelector } from '../core/k8s.ts';
import { compileClusterPolicy } from '../policy/compile-cluster.ts';
import { isIPError, parseCIDR } from '../policy/ip.ts';
import { type PathSegment, parseFieldPath } from './field-path.ts';
import type { ClusterNetworkPolicyShape } from './manifest-schema.ts';
import { type FieldIssue, validateSelector } from './validate.ts';

type Path = readonly PathSegment[];
type Spec = ClusterNetworkPolicyShape['spec'];
/** Ingress peers are egress peers without networks, nodes and domainNames. */
type Peer = NonNullable<NonNullable<Spec['egress']>[number]['to']>[number];

const MAX_ITEMS = 25;
// As the CRD writes it (the v0.2.0 pattern's `A-z` typo widened the letters; v0.3.0 fixed it).
const DOMAIN_NAME =
  /^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$/;

function err(path: Path, message: string): FieldIssue {
  return { severity: 'error', path, message };
}

function maxItems(list: readonly unknown[] | undefined, path: Path): FieldIssue[] {
  return list !== undefined && list.length > MAX_ITEMS
    ? [err(path, `at most ${MAX_ITEMS} items are allowed; found ${list.length}`)]
    : [];
}

function selectorIssues(sel: LabelSelector | undefined, path: Path): FieldIssue[] {
  // Operators and values are checked by compile; label syntax here.
  return sel === undefined
    ? []
    : validateSelector(sel as Parameters<typeof validateSelector>[0], path).filter(
        (i) => !i.path.some((s) => s === 'operator' || s === 'values') || i.path.at(-2) === 'values',
      );
}

export function validateClusterNetworkPolicySpec(
  cnp: ClusterNetworkPolicy,
  spec: Spec,
  path: Path,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  const compiled = compileClusterPolicy(cnp);
  if (!compiled.ok)
    for (const i of compiled.issues)
      if (i.field !== 'metadata.name') out.push(err(parseFieldPath(i.field), i.message));
  out.push(...selectorIssues(spec.subject.namespaces, [...path, 'subject', 'namespaces']));
  out.push(
    ...selectorIssues(spec.subject.pods?.namespaceSelector, [
      ...path,
      'subject',
      'pods',
      'namespaceSelector',
    ]),
  );
  out.push(...selectorIssues(spec.subject.pods?.podSelector, [...path, 'subject', 'pods', 'podSelector']));
  out.push(...maxItems(spec.ingress, [...path, 'ingress']), ...maxItems(spec.egress, [...path, 'egress']));
  const rules = [
    ...(spec.ingress ?? []).map((r, i) => ({
      dir: 'ingress',
      key: 'from',
      peers: (r.from ?? []) as readonly Peer[],
      rule: r,
      i,
    })),
    ...(spec.egress ?? []).map((r, i) => ({ dir: 'egress', key: 'to', peers: r.to ?? [], rule: r, i })),
  ];
  for (const { dir, key, peers, rule, i } of rules) {
    const at: Path = [...path, dir, i];
    if (rule.name !== undefined && rule.name.length > 100)
      out.push(
        err([...at, 'name'], `a rule name has at most 100 characters; this one has ${rule.name.length}`),
      );
    out.push(...maxItems(peers, [...at, key]), ...maxItems(rule.protocols, [...at, 'protocols']));
    peers.forEach((peer, j) => {
      const pa: Path = [...at, key, j];
      // The CRD requires one field per peer; compile accepts an empty peer only from live objects
      // (a newer CRD's field it cannot read), where the API says to fail closed.
      if (Object.keys(peer).length === 0)
        out.push(err(pa, 'a peer sets exactly one of namespaces, pods, networks, nodes or domainNames'));
      out.push(...selectorIssues(peer.namespaces, [...pa, 'namespaces']));
      out.push(...selectorIssues(peer.pods?.namespaceSelector, [...pa, 'pods', 'namespaceSelector']));
      out.push(...selectorIssues(peer.pods?.podSelector, [...pa, 'pods', 'podSelector']));
      out.push(...selectorIssues(peer.nodes, [...pa, 'nodes']));
      if (peer.networks) {
        out.push(...maxItems(peer.networks, [...pa, 'networks']));
        peer.networks.forEach((text, k) => {
          const c = parseCIDR(text);
          // v0.2.0 checks isCIDR only; v0.3.0 also rejects host bits (cidr(self) == cidr(self).masked()).
          if (!isIPError(c) && c.hostBitsSet)
            out.push({
              severity: 'warning',
              path: [...pa, 'networks', k],
              message: `"${text}" has host bits set; network-policy-api v0.3.0's CRD rejects it (v0.2.0 accepts it)`,
            });
        });
      }
      if (peer.domainNames) {
        out.push(...maxItems(peer.domainNames, [...pa, 'domainNames']));
        peer.domainNames.forEach((name, k) => {
          if (!DOMAIN_NAME.test(name))
            out.push(
              err(
                [...pa, 'domainNames', k],
                `"${name}" is not a domain name ('*.' may only be a prefix, matching one or more labels)`,
              ),
            );
        });
      }
    });
  }
  return out;
}
