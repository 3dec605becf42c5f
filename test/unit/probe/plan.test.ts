import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {} from '../../../src/core/traffic.ts';
import {
  decodePlan,
  encodePlan,
  makePlan,
  type ProbePlan,
  probeId,
  validatePlan,
} from '../../../src/probe/plan.ts';
import { arbitraryPlan } from './arbitraries.ts';

const plan = (probes: ProbePlan['probes'], timeoutMs = 1000, attempts = 1): ProbePlan => ({
  version: 1,
  timeoutMs,
  attempts,
  probes,
});

describe('the plan string', () => {
  const cases: { name: string; plan: ProbePlan; text: string }[] = [
    { name: 'an empty plan is just the header', plan: plan([]), text: 'v1,t=1000,a=1' },
    {
      name: 'IPv4 and IPv6 hosts need no brackets: the port follows the last colon',
      plan: plan(
        [
          { id: '0', host: '10.244.1.7', port: 80, protocol: 'TCP' },
          { id: '1', host: 'fd00:10:244::7', port: 81, protocol: 'UDP' },
          { id: 'x_Y-9', host: '::1', port: 65535, protocol: 'SCTP' },
        ],
        500,
        3,
      ),
      text: 'v1,t=500,a=3,0=10.244.1.7:80/TCP,1=fd00:10:244::7:81/UDP,x_Y-9=::1:65535/SCTP',
    },
  ];
  for (const c of cases) {
    it(`encodes and decodes: ${c.name}`, () => {
      assert.equal(encodePlan(c.plan), c.text);
      assert.deepEqual(decodePlan(c.text), { ok: true, value: c.plan });
    });
  }

  it('reads protocols in any case and ignores surrounding whitespace', () => {
    const decoded = decodePlan(' v1,t=1000,a=1,a=127.0.0.1:80/tcp \n');
    assert.ok(decoded.ok);
    assert.equal(decoded.value.probes[0]?.protocol, 'TCP');
  });

  const bad: { text: string; error: RegExp }[] = [
    { text: '', error: /not a netaudit plan/ },
    { text: 'eyJ2IjoxfQ', error: /not a netaudit plan/ },
    { text: 'v2,t=1000,a=1', error: /unsupported plan version/ },
    { text: 'v1', error: /token 1.*expected t=/ },
    { text: 'v1,t=1s,a=1', error: /expected t=/ },
    { text: 'v1,t=1000', error: /expected a=/ },
    { text: 'v1,t=0,a=1', error: /timeout 0 ms is not in 1-60000/ },
    { text: 'v1,t=60001,a=1', error: /timeout/ },
    { text: 'v1,t=1000,a=0', error: /attempts 0/ },
    { text: 'v1,t=1000,a=11', error: /attempts 11/ },
    { text: 'v1,t=1000,a=1,', error: /token 3.*empty probe/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1/TCP', error: /expected <id>=<host>:<port>\/<protocol>/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1:80', error: /expected <id>=/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1:80/ICMP', error: /unknown protocol 'ICMP'/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1:http/TCP', error: /port 'http' is not a number/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1:0/TCP', error: /port 0 is not in 1-65535/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1:65536/TCP', error: /port 65536/ },
    {
      text: 'v1,t=1000,a=1,p=example.com:80/TCP',
      error: /host 'example.com' is not an IPv4 or IPv6 literal/,
    },
    { text: 'v1,t=1000,a=1,p=10.0.0.256:80/TCP', error: /not an IPv4 or IPv6 literal/ },
    { text: 'v1,t=1000,a=1,p=[::1]:80/TCP', error: /not an IPv4 or IPv6 literal/ },
    { text: 'v1,t=1000,a=1,p=fe80::1%eth0:80/TCP', error: /not an IPv4 or IPv6 literal/ },
    { text: 'v1,t=1000,a=1,=10.0.0.1:80/TCP', error: /probe id '' must be/ },
    { text: 'v1,t=1000,a=1,a.b=10.0.0.1:80/TCP', error: /probe id 'a.b'/ },
    { text: 'v1,t=1000,a=1,p0123456789abcdef=10.0.0.1:80/TCP', error: /must be 1-16/ },
    { text: 'v1,t=1000,a=1,p=10.0.0.1:80/TCP,p=10.0.0.2:80/TCP', error: /token 4.*duplicate probe id 'p'/ },
    { text: `v1,t=1000,a=1,${'x'.repeat(70_000)}`, error: /over the 65536 limit/ },
  ];
  for (const c of bad) {
    it(`refuses ${JSON.stringify(c.text.slice(0, 50))} with an error naming the problem`, () => {
      const decoded = decodePlan(c.text);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) {
        assert.equal(decoded.error.name, 'ProbeFormatError');
        assert.match(decoded.error.message, c.error);
      }
    });
  }

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        decodePlan(s);
        decodePlan(`v1,t=1000,a=1,${s}`);
      }),
    );
  });

  it('round-trips any valid plan', () => {
    fc.assert(
      fc.property(arbitraryPlan(), (p) =>
        assert.deepEqual(decodePlan(encodePlan(p)), { ok: true, value: p }),
      ),
    );
  });
});

describe('building a plan', () => {
  it('defaults to a 1 s timeout and 1 attempt', () => {
    const p = makePlan({ probes: [{ id: probeId(0), host: '127.0.0.1', port: 80, protocol: 'TCP' }] });
    assert.ok(p.ok);
    assert.equal(p.value.timeoutMs, 1000);
    assert.equal(p.value.attempts, 1);
  });

  it('gives compact base-36 ids', () => {
    assert.deepEqual([0, 9, 10, 35, 36, 1295].map(probeId), ['0', '9', 'a', 'z', '10', 'zz']);
  });

  it('refuses a plan object it could not encode, and encodePlan throws a ProbeFormatError for it', () => {
    const p = plan([{ id: 'a,b', host: '127.0.0.1', port: 80, protocol: 'TCP' }]);
    assert.equal(validatePlan(p).ok, false);
    assert.throws(() => encodePlan(p), { name: 'ProbeFormatError' });
  });
});
