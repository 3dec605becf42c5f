// IP addresses and CIDRs as BigInt values, parsed by hand so that src/policy stays free of Node
// (no node:net) and behaves the same wherever the engine runs. Parsing follows what Kubernetes
// accepts for ipBlock and pod IPs (k8s.io/utils/net ParseIPSloppy / ParseCIDRSloppy): host bits in
// a CIDR are masked, IPv4 octets with leading zeros are read as decimal but flagged so that
// validation can reject them as the API server does for new objects.

export type IPFamily = 4 | 6;

export interface IPAddress {
  readonly family: IPFamily;
  readonly value: bigint;
  /** An IPv4 part was written with leading zeros (`010.1.2.3`): legacy, rejected for new objects. */
  readonly legacyLeadingZeros: boolean;
}

export interface CIDR {
  readonly family: IPFamily;
  /** The network address, host bits already masked off. */
  readonly base: bigint;
  readonly prefix: number;
  readonly legacyLeadingZeros: boolean;
  /** The text had host bits set (`10.0.0.1/8`); allowed for ipBlock, the value is masked. */
  readonly hostBitsSet: boolean;
}

/** A parse failure, as a value: the text could not be read, and why. */
export interface IPError {
  readonly error: string;
}

export function isIPError(x: IPAddress | CIDR | IPError): x is IPError {
  return 'error' in x;
}

export function bitsOf(family: IPFamily): number {
  return family === 4 ? 32 : 128;
}

function fail(error: string): IPError {
  return { error };
}

const IPV4_PART = /^[0-9]{1,3}$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(s: string): IPAddress | IPError {
  const parts = s.split('.');
  if (parts.length !== 4) return fail(`"${s}" is not an IPv4 address: expected 4 dot-separated numbers`);
  // A Number holds 32 bits exactly; one BigInt at the end (pod IPs are parsed by the hundred thousand).
  let value = 0;
  let legacyLeadingZeros = false;
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return fail(`"${s}" is not an IPv4 address: "${part}" is not a number 0-255`);
    const n = Number.parseInt(part, 10);
    if (n > 255) return fail(`"${s}" is not an IPv4 address: ${part} is greater than 255`);
    if (part.length > 1 && part.startsWith('0')) legacyLeadingZeros = true;
    value = value * 256 + n;
  }
  return { family: 4, value: BigInt(value), legacyLeadingZeros };
}

/** Reads hex groups (the last may be a dotted IPv4) into 16-bit words; a message when malformed. */
function parseGroups(text: string, allowIPv4Tail: boolean): { words: bigint[]; legacy: boolean } | string {
  if (text === '') return { words: [], legacy: false };
  const groups = text.split(':');
  const words: bigint[] = [];
  let legacy = false;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? '';
    if (i === groups.length - 1 && allowIPv4Tail && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (isIPError(v4)) return `embedded IPv4 part: ${v4.error}`;
      legacy = v4.legacyLeadingZeros;
      words.push(v4.value >> 16n, v4.value & 0xffffn);
      continue;
    }
    if (!IPV6_GROUP.test(g)) return `"${g}" is not a group of 1-4 hex digits`;
    words.push(BigInt(`0x${g}`));
  }
  return { words, legacy };
}

function parseIPv6(s: string): IPAddress | IPError {
  const bad = (why: string): IPError => fail(`"${s}" is not an IPv6 address: ${why}`);
  const halves = s.split('::');
  if (halves.length > 2) return bad('"::" may appear only once');
  const [headText = '', tailText] = halves;
  const head = parseGroups(headText, tailText === undefined);
  if (typeof head === 'string') return bad(head);
  let words = head.words;
  let legacy = head.legacy;
  if (tailText !== undefined) {
    const tail = parseGroups(tailText, true);
    if (typeof tail === 'string') return bad(tail);
    legacy = tail.legacy;
    const missing = 8 - head.words.length - tail.words.length;
    if (missing < 1) return bad('"::" must stand for at least one zero group');
    words = [...head.words, ...new Array<bigint>(missing).fill(0n), ...tail.words];
  }
  if (words.length !== 8) return bad(`expected 8 groups, found ${words.length}`);
  let value = 0n;
  for (const w of words) value = (value << 16n) | w;
  return { family: 6, value, legacyLeadingZeros: legacy };
}

/**
 * A plain dotted quad (`10.1.2.3`: four numbers 0-255 of 1-3 digits, no leading zero) read in one
 * loop, without the splits and patterns of parseIPv4; anything else is undefined, for parseIPv4 to
 * read or reject with its message. Pod IPs are read by the hundred thousand, twice each (checks and
 * engine), and nearly all are of this form.
 */
function plainIPv4(s: string): IPAddress | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    // Not a digit, a fourth digit, or a digit after a leading zero (legacy form): parseIPv4 decides.
    if (c < 0x30 || c > 0x39 || digits === 3 || (digits === 1 && part === 0)) return undefined;
    part = part * 10 + (c - 0x30);
    digits++;
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return { family: 4, value: BigInt(value * 256 + part), legacyLeadingZeros: false };
}

/** Parses an IPv4 or IPv6 address. Zone ids (`fe80::1%eth0`) are rejected: Kubernetes has no use for them. */
export function parseIP(s: string): IPAddress | IPError {
  const plain = plainIPv4(s);
  if (plain !== undefined) return plain;
  if (s === '') return fail('an IP address is required');
  if (s.trim() !== s) return fail(`"${s}" has surrounding spaces`);
  if (s.includes('%')) return fail(`"${s}" has a zone id ("%..."), which is not allowed`);
  if (s.includes(':')) return parseIPv6(s);
  return parseIPv4(s);
}

const MASKS: Record<IPFamily, bigint[]> = { 4: [], 6: [] };

export function maskOf(family: IPFamily, prefix: number): bigint {
  const known = MASKS[family][prefix];
  if (known !== undefined) return known;
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  const mask = (all >> BigInt(prefix)) ^ all;
  MASKS[family][prefix] = mask;
  return mask;
}

/** Parses `addr/prefix`; host bits set are allowed and masked, as Kubernetes does for ipBlock. */
export function parseCIDR(s: string): CIDR | IPError {
  const slash = s.indexOf('/');
  if (slash < 0) return fail(`"${s}" is not a CIDR: expected ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8`);
  const addrText = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  const addr = parseIP(addrText);
  if (isIPError(addr)) return fail(`"${s}" is not a CIDR: ${addr.error}`);
  const max = bitsOf(addr.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return fail(`"${s}" is not a CIDR: prefix length "${prefixText}" must be a number 0-${max}`);
  }
  const prefix = Number(prefixText);
  const base = addr.value & maskOf(addr.family, prefix);
  return {
    family: addr.family,
    base,
    prefix,
    legacyLeadingZeros: addr.legacyLeadingZeros,
    hostBitsSet: base !== addr.value,
  };
}

/** True when every address of `inner` is in `outer` (same family; a CIDR contains itself). */
export function cidrContains(outer: CIDR, inner: CIDR): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    (inner.base & maskOf(outer.family, outer.prefix)) === outer.base
  );
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`), if it is one. */
export function unmapIPv4(ip: IPAddress): IPAddress | undefined {
  if (ip.family !== 6 || ip.value >> 32n !== 0xffffn) return undefined;
  return { family: 4, value: ip.value & 0xffffffffn, legacyLeadingZeros: ip.legacyLeadingZeros };
}

/** True when `ip` is in `cidr`. An IPv4-mapped IPv6 address matches IPv4 CIDRs, as Go's IPNet.Contains does. */
export function cidrContainsIP(cidr: CIDR, ip: IPAddress): boolean {
  const addr = cidr.family === 4 && ip.family === 6 ? unmapIPv4(ip) : ip;
  if (addr === undefined || addr.family !== cidr.family) return false;
  return (addr.value & maskOf(cidr.family, cidr.prefix)) === cidr.base;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
}

/** Canonical text (RFC 5952 for IPv6: lower case, longest zero run compressed, mapped IPv4 dotted). */
export function formatIP(ip: { readonly family: IPFamily; readonly value: bigint }): string {
  if (ip.family === 4) return formatIPv4(ip.value);
  if (ip.value >> 32n === 0xffffn) {
    return `::ffff:${formatIPv4(ip.value & 0xffffffffn)}`;
  }
  const words: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) words.push(Number((ip.value >> shift) & 0xffffn));
  // Longest run of two or more zero words; the first one wins a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function formatCIDR(cidr: CIDR): string {
  return `${formatIP({ family: cidr.family, value: cidr.base })}/${cidr.prefix}`;
}
