// Matching on addresses: the engine's view over ip.ts (which does the parsing).
import type { Result } from '../core/result.ts';
import { isIPError, maskOf, parseCIDR, parseIP, unmapIPv4 } from './ip.ts';
import type { CompiledIPBlock, ParsedCIDR, ParsedIP } from './types.ts';

export function parseIpLiteral(text: string): Result<ParsedIP, string> {
  const ip = parseIP(text);
  if (isIPError(ip)) return { ok: false, error: ip.error };
  if (ip.legacyLeadingZeros) {
    return { ok: false, error: `"${text}" has IPv4 octets with leading zeros, which Kubernetes rejects` };
  }
  return { ok: true, value: { family: ip.family, value: ip.value } };
}

/** A CIDR as ipBlock accepts it: host bits are masked; leading zeros are rejected (new objects). */
export function parseCidrStrict(text: string): Result<ParsedCIDR, string> {
  const cidr = parseCIDR(text);
  if (isIPError(cidr)) return { ok: false, error: cidr.error };
  if (cidr.legacyLeadingZeros) {
    return { ok: false, error: `"${text}" has IPv4 octets with leading zeros, which Kubernetes rejects` };
  }
  return { ok: true, value: { family: cidr.family, base: cidr.base, prefix: cidr.prefix } };
}

export function cidrContainsIP(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  // An IPv4-mapped IPv6 address matches IPv4 CIDRs, as Go's IPNet.Contains does.
  const addr = cidr.family === 4 && ip.family === 6 ? unmapIPv4({ ...ip, legacyLeadingZeros: false }) : ip;
  if (addr === undefined || addr.family !== cidr.family) return false;
  return (addr.value & maskOf(cidr.family, cidr.prefix)) === cidr.base;
}

export function ipBlockContains(block: CompiledIPBlock, ip: ParsedIP): boolean {
  return cidrContainsIP(block.cidr, ip) && !block.except.some((ex) => cidrContainsIP(ex, ip));
}
