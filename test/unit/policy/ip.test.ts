import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CIDR,
  cidrContains,
  cidrContainsIP,
  formatCIDR,
  formatIP,
  type IPAddress,
  isIPError,
  parseCIDR,
  parseIP,
} from '../../../src/policy/ip.ts';

function ip(s: string): IPAddress {
  const r = parseIP(s);
  if (isIPError(r)) assert.fail(`${s}: ${r.error}`);
  return r;
}

function cidr(s: string): CIDR {
  const r = parseCIDR(s);
  if (isIPError(r)) assert.fail(`${s}: ${r.error}`);
  return r;
}

describe('parseIP', () => {
  const valid: [string, 4 | 6, bigint, string][] = [
    ['0.0.0.0', 4, 0n, '0.0.0.0'],
    ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
    ['10.1.2.3', 4, 0x0a010203n, '10.1.2.3'],
    ['::', 6, 0n, '::'],
    ['::1', 6, 1n, '::1'],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['fe80::', 6, 0xfe800000000000000000000000000000n, 'fe80::'],
    ['1:0:0:2:0:0:0:3', 6, 0x00010000000000020000000000000003n, '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n, '1:2:3:4:5:6:7:8'],
    ['1:0:2:3:4:5:6:7', 6, 0x00010000000200030004000500060007n, '1:0:2:3:4:5:6:7'],
    ['::ffff:1.2.3.4', 6, 0xffff01020304n, '::ffff:1.2.3.4'],
    ['64:ff9b::192.0.2.33', 6, 0x0064ff9b0000000000000000c0000221n, '64:ff9b::c000:221'],
  ];
  for (const [text, family, value, formatted] of valid) {
    it(`reads ${text} as IPv${family} and formats it as ${formatted}`, () => {
      const r = ip(text);
      assert.equal(r.family, family);
      assert.equal(r.value, value);
      assert.equal(r.legacyLeadingZeros, false);
      assert.equal(formatIP(r), formatted);
    });
  }

  const invalid = [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.-4',
    '1.2.3.4 ',
    'a.b.c.d',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '1:2:3:4:5:6:7::8',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '::ffff:1.2.3',
    '1.2.3.4::',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)} with a message`, () => {
      const r = parseIP(text);
      assert.ok(isIPError(r), `expected an error for ${text}`);
      assert.ok(r.error.length > 0);
    });
  }

  it('reads IPv4 parts with leading zeros as decimal and flags them as legacy', () => {
    const r = ip('010.001.002.003');
    assert.equal(formatIP(r), '10.1.2.3');
    assert.equal(r.legacyLeadingZeros, true);
  });

  it('flags leading zeros inside an embedded IPv4 part', () => {
    assert.equal(ip('::ffff:01.2.3.4').legacyLeadingZeros, true);
  });

  it('reads dotted quads as the split-and-check reading of the text does, valid or not', () => {
    // An independent reading of IPv4 text: four parts of 1-3 digits, each 0-255, leading zeros flagged.
    const reference = (s: string): { value: bigint; legacy: boolean } | undefined => {
      const parts = s.split('.');
      if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255))
        return undefined;
      const value = parts.reduce((v, p) => v * 256n + BigInt(Number(p)), 0n);
      return { value, legacy: parts.some((p) => p.length > 1 && p.startsWith('0')) };
    };
    const part = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom('', '00', '01', '007', '0255', '1a', ' 1', '-1', '1.'),
    );
    const text = fc.oneof(
      fc.array(part, { minLength: 4, maxLength: 4 }).map((p) => p.join('.')),
      fc.array(part, { minLength: 1, maxLength: 6 }).map((p) => p.join('.')),
      fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', ':', ' ', 'a', '%'), maxLength: 17 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        const r = parseIP(s);
        const want = s.includes(':') || s.trim() !== s ? undefined : reference(s);
        if (want === undefined) {
          if (!s.includes(':')) assert.ok(isIPError(r), s);
          return;
        }
        assert.deepEqual(r, { family: 4, value: want.value, legacyLeadingZeros: want.legacy }, s);
      }),
      { numRuns: 5000 },
    );
  });

  it('says that zone ids are not allowed', () => {
    const r = parseIP('fe80::1%eth0');
    assert.ok(isIPError(r) && /zone/.test(r.error));
  });
});

describe('parseCIDR', () => {
  const table: [string, 4 | 6, string, number, boolean][] = [
    ['0.0.0.0/0', 4, '0.0.0.0', 0, false],
    ['10.0.0.0/8', 4, '10.0.0.0', 8, false],
    ['10.1.2.3/8', 4, '10.0.0.0', 8, true],
    ['10.1.2.3/32', 4, '10.1.2.3', 32, false],
    ['::/0', 6, '::', 0, false],
    ['2001:db8::/32', 6, '2001:db8::', 32, false],
    ['2001:db8::1/64', 6, '2001:db8::', 64, true],
    ['::1/128', 6, '::1', 128, false],
  ];
  for (const [text, family, base, prefix, hostBits] of table) {
    it(`reads ${text} as ${base}/${prefix}${hostBits ? ' with host bits masked' : ''}`, () => {
      const c = cidr(text);
      assert.equal(c.family, family);
      assert.equal(formatIP({ family: c.family, value: c.base }), base);
      assert.equal(c.prefix, prefix);
      assert.equal(c.hostBitsSet, hostBits);
      assert.equal(formatCIDR(c), `${base}/${prefix}`);
    });
  }

  for (const text of [
    '10.0.0.0',
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '/8',
    'x/8',
  ]) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.ok(isIPError(parseCIDR(text)));
    });
  }

  it('flags legacy leading zeros in the address', () => {
    assert.equal(cidr('010.0.0.0/8').legacyLeadingZeros, true);
  });
});

describe('cidrContains', () => {
  const table: [string, string, boolean][] = [
    ['0.0.0.0/0', '10.0.0.0/8', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.0.0.0/8', '10.255.0.0/16', true],
    ['10.0.0.0/8', '10.255.255.255/32', true],
    ['10.0.0.0/8', '11.0.0.0/16', false],
    ['10.0.0.0/16', '10.0.0.0/8', false],
    ['0.0.0.0/0', '::/0', false],
    ['::/0', '0.0.0.0/0', false],
    ['::/0', '2001:db8::/32', true],
    ['2001:db8::/32', '2001:db8:ffff:ffff::/64', true],
    ['2001:db8::/32', '2001:db9::/32', false],
    ['2001:db8::1/128', '2001:db8::1/128', true],
  ];
  for (const [outer, inner, expected] of table) {
    it(`${outer} ${expected ? 'contains' : 'does not contain'} ${inner}`, () => {
      assert.equal(cidrContains(cidr(outer), cidr(inner)), expected);
    });
  }
});

describe('cidrContainsIP', () => {
  const table: [string, string, boolean][] = [
    ['0.0.0.0/0', '0.0.0.0', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.1.2.3/32', '10.1.2.3', true],
    ['10.1.2.3/32', '10.1.2.4', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::a01:203', false],
    ['0.0.0.0/0', '::1', false],
    ['::/0', '10.0.0.1', false],
    ['::/0', '::', true],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['::1/128', '::1', true],
    ['::1/128', '::2', false],
  ];
  for (const [c, a, expected] of table) {
    it(`${c} ${expected ? 'contains' : 'does not contain'} ${a}`, () => {
      assert.equal(cidrContainsIP(cidr(c), ip(a)), expected);
    });
  }
});

describe('formatIP', () => {
  const table: [string, string][] = [
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:0:0:0:2:0:0:0', '1::2:0:0:0'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:a01:203', '::ffff:10.1.2.3'],
  ];
  for (const [text, expected] of table) {
    it(`writes ${text} as ${expected} (RFC 5952: the first longest zero run is compressed)`, () => {
      assert.equal(formatIP(ip(text)), expected);
    });
  }
});

describe('properties', () => {
  const v4 = fc
    .bigInt({ min: 0n, max: (1n << 32n) - 1n })
    .map((value): IPAddress => ({ family: 4, value, legacyLeadingZeros: false }));
  const v6 = fc
    .bigInt({ min: 0n, max: (1n << 128n) - 1n })
    .map((value): IPAddress => ({ family: 6, value, legacyLeadingZeros: false }));
  const anyIP = fc.oneof(v4, v6);

  it('parses what it formats back to the same address', () => {
    fc.assert(
      fc.property(anyIP, (a) => {
        const back = ip(formatIP(a));
        assert.equal(back.family, a.family);
        assert.equal(back.value, a.value);
      }),
    );
  });

  it('a CIDR made from an address and a prefix contains that address and is contained by its shorter prefixes', () => {
    fc.assert(
      fc.property(anyIP, fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 128 }), (a, p1, p2) => {
        const max = a.family === 4 ? 32 : 128;
        const [short, long] = [Math.min(p1, p2) % (max + 1), Math.max(p1, p2) % (max + 1)].sort(
          (x, y) => x - y,
        ) as [number, number];
        const outer = cidr(`${formatIP(a)}/${short}`);
        const inner = cidr(`${formatIP(a)}/${long}`);
        assert.ok(cidrContainsIP(inner, a));
        assert.ok(cidrContains(outer, inner));
        assert.equal(cidrContains(inner, outer), short === long);
      }),
    );
  });
});
