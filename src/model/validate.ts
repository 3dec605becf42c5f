// Kubernetes' validation rules for the fields netaudit reads (pkg/apis/networking/validation and
// pkg/apis/core/validation), applied to objects whose shape zod already checked. Returns issues
// with field paths; the caller adds file, line and object.

import { isProtocol } from '../core/traffic.ts';
import {
  type CIDR,
  cidrContains,
  formatCIDR,
  formatIP,
  type IPError,
  isIPError,
  parseCIDR,
  parseIP,
  unmapIPv4,
} from '../policy/ip.ts';
import type { PathSegment } from './field-path.ts';
import { dns1123Label, labelKey, labelValue, portName } from './k8s-names.ts';
import type { NetworkPolicyShape, PodShape } from './manifest-schema.ts';

export interface FieldIssue {
  readonly severity: 'error' | 'warning';
  readonly path: readonly PathSegment[];
  readonly message: string;
}

type Path = readonly PathSegment[];
type Spec = NonNullable<NetworkPolicyShape['spec']>;
type Selector = NonNullable<Spec['podSelector']>;
type PolicyPort = NonNullable<NonNullable<Spec['ingress']>[number]['ports']>[number];
type Peer = NonNullable<NonNullable<Spec['ingress']>[number]['from']>[number];
type PodSpecShape = PodShape['spec'];

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const POLICY_TYPES: readonly string[] = ['Ingress', 'Egress'];

function err(path: Path, message: string): FieldIssue {
  return { severity: 'error', path, message };
}

function errs(path: Path, messages: readonly string[]): FieldIssue[] {
  return messages.map((m) => err(path, m));
}

export function validateLabels(
  labels: Readonly<Record<string, string>> | undefined,
  path: Path,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (labels === undefined) return out;
  for (const k of Object.keys(labels)) {
    const why = [...labelKey(k), ...labelValue(labels[k] as string)];
    // The path is built only for a bad label: pods may carry very many good ones.
    if (why.length > 0) out.push(...errs([...path, k], why));
  }
  return out;
}

export function validateSelector(sel: Selector, path: Path): FieldIssue[] {
  const out = validateLabels(sel.matchLabels, [...path, 'matchLabels']);
  sel.matchExpressions?.forEach((req, i) => {
    const at: Path = [...path, 'matchExpressions', i];
    out.push(...errs([...at, 'key'], labelKey(req.key)));
    const values = req.values ?? [];
    if (!OPERATORS.includes(req.operator)) {
      out.push(
        err(
          [...at, 'operator'],
          `operator "${req.operator}" is not valid; use In, NotIn, Exists or DoesNotExist`,
        ),
      );
    } else if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      out.push(err([...at, 'values'], `operator ${req.operator} needs at least one value in values`));
    } else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      out.push(err([...at, 'values'], `operator ${req.operator} must not have values; remove them`));
    }
    values.forEach((v, j) => {
      out.push(...errs([...at, 'values', j], labelValue(v)));
    });
  });
  return out;
}

function checkPortNumber(n: number, path: Path, what: string): FieldIssue[] {
  return n >= 1 && n <= 65535 ? [] : [err(path, `${what} ${n} is out of range; use 1-65535`)];
}

function checkProtocol(protocol: string | undefined, path: Path): FieldIssue[] {
  if (protocol === undefined || isProtocol(protocol)) return [];
  const hint = isProtocol(protocol.toUpperCase())
    ? ` (protocols are upper case: ${protocol.toUpperCase()})`
    : '';
  return [err(path, `protocol "${protocol}" is not valid; use TCP, UDP or SCTP${hint}`)];
}

function validatePolicyPort(p: PolicyPort, path: Path): FieldIssue[] {
  const out = checkProtocol(p.protocol, [...path, 'protocol']);
  if (typeof p.port === 'number') out.push(...checkPortNumber(p.port, [...path, 'port'], 'port'));
  else if (typeof p.port === 'string') out.push(...errs([...path, 'port'], portName(p.port)));
  if (p.endPort !== undefined) {
    const at: Path = [...path, 'endPort'];
    if (p.port === undefined)
      out.push(err(at, 'endPort requires port to be set to the first port of the range'));
    else if (typeof p.port === 'string') {
      out.push(err(at, `endPort requires a numeric port, not the named port "${p.port}"`));
    } else if (p.port < 1 || p.port > 65535) {
      // already reported on port; comparing with an invalid port would only add noise
    } else if (p.endPort < p.port) {
      out.push(err(at, `endPort ${p.endPort} must be greater than or equal to port ${p.port}`));
    } else if (p.endPort > 65535)
      out.push(err(at, `endPort ${p.endPort} is out of range; use at most 65535`));
  }
  return out;
}

function cidrProblem(text: string, path: Path): FieldIssue[] | CIDR {
  const c: CIDR | IPError = parseCIDR(text);
  if (isIPError(c)) return [err(path, c.error)];
  if (c.family === 6 && unmapIPv4({ family: 6, value: c.base, legacyLeadingZeros: false }) !== undefined) {
    return [
      err(path, `"${text}" is an IPv4-mapped IPv6 CIDR, which the API server rejects; write it as IPv4`),
    ];
  }
  if (c.legacyLeadingZeros) {
    return [
      err(
        path,
        `"${text}" has IPv4 numbers with leading zeros, which the API server rejects for new objects; write ${formatCIDR(c)}`,
      ),
    ];
  }
  return c;
}

/** Since Kubernetes 1.36 the API server rejects an ipBlock CIDR with host bits set (`10.0.0.1/8`). */
function hostBits(text: string, cidr: CIDR, path: Path): FieldIssue {
  return err(path, `"${text}" has host bits set, which the API server rejects; write ${formatCIDR(cidr)}`);
}

function validateIPBlock(block: NonNullable<Peer['ipBlock']>, path: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  const cidr = cidrProblem(block.cidr, [...path, 'cidr']);
  if (Array.isArray(cidr)) out.push(...cidr);
  else if (cidr.hostBitsSet) out.push(hostBits(block.cidr, cidr, [...path, 'cidr']));
  block.except?.forEach((text, i) => {
    const at: Path = [...path, 'except', i];
    const ex = cidrProblem(text, at);
    if (Array.isArray(ex)) out.push(...ex);
    else if (ex.hostBitsSet) out.push(hostBits(text, ex, at));
    else if (!Array.isArray(cidr)) {
      if (ex.family !== cidr.family) {
        out.push(
          err(at, `except "${text}" is IPv${ex.family} but cidr "${block.cidr}" is IPv${cidr.family}`),
        );
      } else if (!cidrContains(cidr, ex) || ex.prefix <= cidr.prefix) {
        out.push(err(at, `except "${text}" must be a strict subset of cidr "${block.cidr}"`));
      }
    }
  });
  return out;
}

function validatePeer(peer: Peer, path: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  const selectors = (peer.podSelector ? 1 : 0) + (peer.namespaceSelector ? 1 : 0);
  if (selectors === 0 && !peer.ipBlock) {
    out.push(err(path, 'a peer must set at least one of podSelector, namespaceSelector or ipBlock'));
  }
  if (peer.ipBlock && selectors > 0) {
    out.push(
      err(
        [...path, 'ipBlock'],
        'ipBlock cannot be combined with podSelector or namespaceSelector in the same peer; use separate peers',
      ),
    );
  }
  if (peer.podSelector) out.push(...validateSelector(peer.podSelector, [...path, 'podSelector']));
  if (peer.namespaceSelector)
    out.push(...validateSelector(peer.namespaceSelector, [...path, 'namespaceSelector']));
  if (peer.ipBlock) out.push(...validateIPBlock(peer.ipBlock, [...path, 'ipBlock']));
  return out;
}

export function validateNetworkPolicySpec(spec: Spec, path: Path): FieldIssue[] {
  const out = validateSelector(spec.podSelector ?? {}, [...path, 'podSelector']);
  // The API server accepts a type listed twice; it means what it says once.
  spec.policyTypes?.forEach((t, i) => {
    const at: Path = [...path, 'policyTypes', i];
    if (!POLICY_TYPES.includes(t))
      out.push(err(at, `policy type "${t}" is not valid; use Ingress or Egress`));
  });
  const rules = [
    ...(spec.ingress ?? []).map((r, i) => ({
      dir: 'ingress',
      peersKey: 'from',
      peers: r.from,
      ports: r.ports,
      i,
    })),
    ...(spec.egress ?? []).map((r, i) => ({ dir: 'egress', peersKey: 'to', peers: r.to, ports: r.ports, i })),
  ];
  for (const r of rules) {
    const at: Path = [...path, r.dir, r.i];
    r.ports?.forEach((p, j) => {
      out.push(...validatePolicyPort(p, [...at, 'ports', j]));
    });
    r.peers?.forEach((peer, j) => {
      out.push(...validatePeer(peer, [...at, r.peersKey, j]));
    });
  }
  return out;
}

function validateIP(text: string, path: Path): FieldIssue[] {
  const ip = parseIP(text);
  if (isIPError(ip)) return [err(path, ip.error)];
  if (ip.legacyLeadingZeros)
    return [err(path, `"${text}" has IPv4 numbers with leading zeros; write ${formatIP(ip)}`)];
  return [];
}

export function validatePodSpec(spec: PodSpecShape, path: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (spec.containers.length === 0)
    out.push(err([...path, 'containers'], 'a pod needs at least one container'));
  const containerNames = new Set<string>();
  const lists = [
    { key: 'containers', list: spec.containers },
    { key: 'initContainers', list: spec.initContainers ?? [] },
  ];
  for (const { key, list } of lists) {
    list.forEach((c, i) => {
      const at: Path = [...path, key, i];
      // Port names are unique within a container (the API server checks each container's list).
      const portNames = new Set<string>();
      if (c.name === '') out.push(err([...at, 'name'], 'a container needs a name'));
      else {
        out.push(...errs([...at, 'name'], dns1123Label(c.name)));
        if (containerNames.has(c.name))
          out.push(err([...at, 'name'], `container name "${c.name}" is used twice`));
        containerNames.add(c.name);
      }
      c.ports?.forEach((p, j) => {
        const pa: Path = [...at, 'ports', j];
        out.push(...checkPortNumber(p.containerPort, [...pa, 'containerPort'], 'containerPort'));
        if (p.hostPort !== undefined && p.hostPort !== 0) {
          out.push(...checkPortNumber(p.hostPort, [...pa, 'hostPort'], 'hostPort'));
        }
        out.push(...checkProtocol(p.protocol, [...pa, 'protocol']));
        if (p.name !== undefined) {
          const nameErrs = portName(p.name);
          out.push(...errs([...pa, 'name'], nameErrs));
          if (nameErrs.length === 0 && portNames.has(p.name)) {
            out.push(
              err(
                [...pa, 'name'],
                `port name "${p.name}" is used twice in this container; port names must be unique`,
              ),
            );
          }
          portNames.add(p.name);
        }
      });
    });
  }
  return out;
}

export function validatePodStatus(status: PodShape['status'], path: Path): FieldIssue[] {
  if (status === undefined) return [];
  const out: FieldIssue[] = [];
  if (status.podIP !== undefined && status.podIP !== '')
    out.push(...validateIP(status.podIP, [...path, 'podIP']));
  status.podIPs?.forEach((p, i) => {
    out.push(...validateIP(p.ip, [...path, 'podIPs', i, 'ip']));
  });
  return out;
}
