// The client's classification, with injected sockets: the cases loopback cannot produce (a DROP,
// EHOSTUNREACH, EMFILE) without sending packets anywhere else.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { classifyError, type ProbeDeps, probeOnce, realDeps, runPlan } from '../../../src/probe/client.ts';
import type { ProbeOutcome } from '../../../src/probe/outcome.ts';
import type { ProbeSpec } from '../../../src/probe/plan.ts';

const errno = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

/** A TCP socket that does what the test says, after a tick, and records whether it was released. */
class FakeTcp extends EventEmitter {
  destroyed = false;
  constructor(then?: (s: FakeTcp) => void) {
    super();
    if (then) setImmediate(() => then(this));
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const tcpSpec: ProbeSpec = { id: 'p', host: '127.0.0.1', port: 80, protocol: 'TCP' };

describe('a TCP probe', () => {
  it('times out when nothing comes back before the deadline (DROP), and releases the socket', async () => {
    const sockets: FakeTcp[] = [];
    const deps: ProbeDeps = {
      ...realDeps,
      tcpConnect: () => {
        const s = new FakeTcp(); // never connects, never fails
        sockets.push(s);
        return s;
      },
    };
    const started = performance.now();
    assert.deepEqual(await probeOnce(tcpSpec, 50, deps), { kind: 'timeout' });
    assert.ok(performance.now() - started >= 45);
    assert.equal(sockets[0]?.destroyed, true);
  });

  const errors: [string, ProbeOutcome][] = [
    ['ECONNREFUSED', { kind: 'refused' }],
    ['ETIMEDOUT', { kind: 'timeout' }],
    ['EHOSTUNREACH', { kind: 'error', cause: 'EHOSTUNREACH' }],
    ['ENETUNREACH', { kind: 'error', cause: 'ENETUNREACH' }],
    ['EADDRNOTAVAIL', { kind: 'error', cause: 'EADDRNOTAVAIL' }],
    ['EMFILE', { kind: 'error', cause: 'EMFILE' }],
    ['ECONNRESET', { kind: 'error', cause: 'ECONNRESET' }],
  ];
  for (const [code, outcome] of errors) {
    it(`reads ${code} as ${outcome.kind}${outcome.kind === 'error' ? ', never as blocked' : ''}`, async () => {
      const deps: ProbeDeps = {
        ...realDeps,
        tcpConnect: () => new FakeTcp((s) => s.emit('error', errno(code))),
      };
      assert.deepEqual(await probeOnce(tcpSpec, 1000, deps), outcome);
    });
  }

  it('reads a socket that cannot even be created (EMFILE thrown) as an error, not a crash', async () => {
    const deps: ProbeDeps = {
      ...realDeps,
      tcpConnect: () => {
        throw errno('EMFILE');
      },
    };
    assert.deepEqual(await probeOnce(tcpSpec, 1000, deps), { kind: 'error', cause: 'EMFILE' });
  });

  it('records the connect time, bounded by the timeout', async () => {
    let clock = 0;
    const deps: ProbeDeps = {
      ...realDeps,
      now: () => clock,
      tcpConnect: () =>
        new FakeTcp((s) => {
          clock += 5000; // a clock jump must not produce ms beyond the deadline
          s.emit('connect');
        }),
    };
    assert.deepEqual(await probeOnce(tcpSpec, 1000, deps), { kind: 'connected', ms: 1000 });
  });

  it('settles once: an error after the connect does not change the outcome', async () => {
    const deps: ProbeDeps = {
      ...realDeps,
      tcpConnect: () =>
        new FakeTcp((s) => {
          s.emit('connect');
          s.emit('error', errno('ECONNRESET'));
        }),
    };
    assert.equal((await probeOnce(tcpSpec, 1000, deps)).kind, 'connected');
  });

  it('reads an error without errno by its message', () => {
    assert.deepEqual(classifyError(new Error('weird')), { kind: 'error', cause: 'weird' });
  });
});

describe('running a plan', () => {
  it('runs every attempt, spaced apart, and keeps the plan order', async () => {
    const calls: number[] = [];
    const outcomes = ['ECONNREFUSED', 'connect', 'ETIMEDOUT'];
    const deps: ProbeDeps = {
      ...realDeps,
      tcpConnect: () => {
        calls.push(performance.now());
        const next = outcomes[(calls.length - 1) % outcomes.length];
        return new FakeTcp((s) =>
          next === 'connect' ? s.emit('connect') : s.emit('error', errno(next ?? '')),
        );
      },
    };
    const results = await runPlan(
      { version: 1, timeoutMs: 100, attempts: 3, probes: [tcpSpec] },
      { deps, attemptGapMs: 30 },
    );
    assert.deepEqual(
      results[0]?.attempts.map((a) => a.kind),
      ['refused', 'connected', 'timeout'],
    );
    assert.ok((calls[2] ?? 0) - (calls[0] ?? 0) >= 55, 'attempts are spaced');
  });

  it('keeps at most the concurrency limit in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const deps: ProbeDeps = {
      ...realDeps,
      tcpConnect: () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        return new FakeTcp((s) => {
          inFlight--;
          s.emit('error', errno('ECONNREFUSED'));
        });
      },
    };
    const probes = Array.from({ length: 50 }, (_, i) => ({ ...tcpSpec, id: `p${i}` }));
    const results = await runPlan(
      { version: 1, timeoutMs: 100, attempts: 1, probes },
      { deps, concurrency: 8 },
    );
    assert.equal(results.length, 50);
    assert.deepEqual(
      results.map((r) => r.id),
      probes.map((p) => p.id),
    );
    assert.ok(peak <= 8, `peak ${peak}`);
  });
});
