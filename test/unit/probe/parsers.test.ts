import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../../src/probe/duration.ts';
import { parsePortSpec } from '../../../src/probe/ports.ts';

describe('durations on the command line', () => {
  const good: [string, number][] = [
    ['500ms', 500],
    ['1s', 1000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    [' 250ms ', 250],
  ];
  for (const [text, ms] of good)
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () =>
      assert.deepEqual(parseDuration(text), { ok: true, value: ms }));

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['1', /no unit/],
    ['1.5', /no unit/],
    ['1sec', /not a duration/],
    ['-1s', /not a duration/],
    ['s', /not a duration/],
  ];
  for (const [text, error] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const d = parseDuration(text);
      assert.ok(!d.ok && error.test(d.error), JSON.stringify(d));
    });
  }
});

describe('--port values of agent serve', () => {
  const good: [string, { port: number; protocol: string }][] = [
    ['80', { port: 80, protocol: 'TCP' }],
    ['80/TCP', { port: 80, protocol: 'TCP' }],
    ['81/udp', { port: 81, protocol: 'UDP' }],
    ['9/Sctp', { port: 9, protocol: 'SCTP' }],
    ['65535/TCP', { port: 65535, protocol: 'TCP' }],
  ];
  for (const [text, spec] of good)
    it(`reads ${text}`, () => assert.deepEqual(parsePortSpec(text), { ok: true, value: spec }));

  const bad: [string, RegExp][] = [
    ['', /is not PORT or PORT\/PROTOCOL/],
    ['http', /is not PORT/],
    ['80/', /is not PORT/],
    ['0/TCP', /port 0 .* not in 1-65535/],
    ['65536', /port 65536/],
    ['80/ICMP', /protocol 'ICMP' .* not TCP, UDP or SCTP/],
    ['80:TCP', /is not PORT/],
  ];
  for (const [text, error] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const p = parsePortSpec(text);
      assert.ok(!p.ok && error.test(p.error), JSON.stringify(p));
    });
  }
});
