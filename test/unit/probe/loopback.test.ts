// Real packets on loopback: the server and the client against each other.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { describe, it } from 'node:test';
import { probeOnce, runPlan } from '../../../src/probe/client.ts';
import { finalOutcome } from '../../../src/probe/outcome.ts';
import type { ProbePlan, ProbeSpec } from '../../../src/probe/plan.ts';
import { encodeResults } from '../../../src/probe/results.ts';
import { type RunningServer, serve } from '../../../src/probe/server.ts';
import { freePort, silentLogger, silentUdp } from './helpers.ts';

async function startServer(
  t: { after: (fn: () => Promise<void>) => void },
  address: string,
  protocols: ('TCP' | 'UDP' | 'SCTP')[],
): Promise<RunningServer> {
  const started = await serve(
    protocols.map((protocol) => ({ port: 0, protocol })),
    { logger: silentLogger, address },
  );
  assert.ok(started.ok, started.ok ? '' : started.error.message);
  t.after(() => started.value.close());
  return started.value;
}

const portOf = (server: RunningServer, protocol: 'TCP' | 'UDP'): number => {
  const bound = server.bound.find((b) => b.protocol === protocol);
  assert.ok(bound);
  return bound.port;
};

for (const host of ['127.0.0.1', '::1']) {
  describe(`probing a server on ${host}`, () => {
    it('classifies open, closed and silent ports as connected, refused and timeout', async (t) => {
      const server = await startServer(t, host, ['TCP', 'UDP', 'SCTP']);
      const silent = await silentUdp(host);
      t.after(() => silent.close());
      const probes: ProbeSpec[] = [
        { id: 'tcp-open', host, port: portOf(server, 'TCP'), protocol: 'TCP' },
        { id: 'tcp-closed', host, port: await freePort('TCP', host), protocol: 'TCP' },
        { id: 'udp-echo', host, port: portOf(server, 'UDP'), protocol: 'UDP' },
        { id: 'udp-closed', host, port: await freePort('UDP', host), protocol: 'UDP' },
        { id: 'udp-silent', host, port: silent.port, protocol: 'UDP' },
        { id: 'sctp', host, port: 9, protocol: 'SCTP' },
      ];
      const plan: ProbePlan = { version: 1, timeoutMs: 300, attempts: 2, probes };
      const started = performance.now();
      const results = await runPlan(plan, { attemptGapMs: 20 });
      const elapsed = performance.now() - started;
      const finals = Object.fromEntries(results.map((r) => [r.id, finalOutcome(r.attempts).kind]));
      assert.deepEqual(finals, {
        'tcp-open': 'connected',
        'tcp-closed': 'refused',
        'udp-echo': 'connected',
        'udp-closed': 'refused',
        'udp-silent': 'timeout',
        sctp: 'error',
      });
      assert.deepEqual(results.find((r) => r.id === 'sctp')?.attempts[0], {
        kind: 'error',
        cause: 'SCTP-unsupported',
      });
      for (const r of results) assert.equal(r.attempts.length, 2);
      // Probes run concurrently: about attempts x timeout, not probes x attempts x timeout.
      assert.ok(elapsed < 2 * 300 + 20 + 400, `took ${elapsed} ms`);
      assert.deepEqual(server.skipped, [{ port: 0, protocol: 'SCTP' }]);
    });
  });
}

describe('the UDP probe', () => {
  it('counts a datagram that is not its nonce as no answer', async (t) => {
    // A "server" that answers every datagram with something else: only the nonce proves the path.
    const liar = dgram.createSocket('udp4');
    liar.on('message', (_msg, rinfo) => liar.send('not-the-nonce', rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => liar.bind(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => liar.close(() => resolve())));
    const plan: ProbePlan = {
      version: 1,
      timeoutMs: 200,
      attempts: 1,
      probes: [{ id: 'u', host: '127.0.0.1', port: liar.address().port, protocol: 'UDP' }],
    };
    const [result] = await runPlan(plan);
    assert.deepEqual(result?.attempts, [{ kind: 'timeout' }]);
  });
});

/** Keeps this process off the CPU as a busy node would: no timer, no I/O runs meanwhile. */
function starve(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('a probe whose process was not scheduled past its deadline (a busy node)', () => {
  it('TCP: the connection the kernel completed meanwhile counts as connected, not as a timeout', async (t) => {
    const server = await startServer(t, '127.0.0.1', ['TCP']);
    const probe = probeOnce(
      { id: 't', host: '127.0.0.1', port: portOf(server, 'TCP'), protocol: 'TCP' },
      100,
    );
    await new Promise((r) => setImmediate(r)); // the SYN is out
    starve(400);
    assert.equal((await probe).kind, 'connected');
  });

  it('UDP: the echo that arrived meanwhile counts as connected', async (t) => {
    // The echo server is another process, so it answers while this one is starved.
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s=require('node:dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(0,'127.0.0.1',()=>console.log(s.address().port))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => {
      child.kill();
    });
    const port = await new Promise<number>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
    );
    const probe = probeOnce({ id: 'u', host: '127.0.0.1', port, protocol: 'UDP' }, 100);
    await new Promise((r) => setTimeout(r, 20)); // connected and sent
    starve(400);
    assert.equal((await probe).kind, 'connected');
    // Starved before its datagram even left: the deadline counts from the send, not from the start.
    const late = probeOnce({ id: 'u2', host: '127.0.0.1', port, protocol: 'UDP' }, 100);
    starve(400);
    assert.equal((await late).kind, 'connected');
  });

  it('still times out when nothing came back: silence is not helped by waiting longer', async () => {
    const silent = await silentUdp();
    const started = performance.now();
    const probe = probeOnce({ id: 's', host: '127.0.0.1', port: silent.port, protocol: 'UDP' }, 100);
    await new Promise((r) => setTimeout(r, 20));
    starve(300);
    assert.equal((await probe).kind, 'timeout');
    assert.ok(performance.now() - started < 1000);
    await silent.close();
  });
});

describe('the server', () => {
  it('survives thousands of connections, half of them reset, and still answers', async (t) => {
    const server = await startServer(t, '127.0.0.1', ['TCP']);
    const port = portOf(server, 'TCP');
    const connectOnce = (reset: boolean): Promise<void> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.on('connect', () => {
          if (reset) socket.resetAndDestroy();
          else socket.write('hello', () => socket.end());
        });
      });
    for (let wave = 0; wave < 10; wave++) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => connectOnce(i % 2 === 0)));
    }
    const [after] = await runPlan({
      version: 1,
      timeoutMs: 500,
      attempts: 1,
      probes: [{ id: 'a', host: '127.0.0.1', port, protocol: 'TCP' }],
    });
    assert.equal(after?.attempts[0]?.kind, 'connected');
  });

  it('reports a port it cannot bind as a BindError naming the port and the cause', async (t) => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const address = taken.address();
    assert.ok(typeof address === 'object' && address);
    const started = await serve(
      [
        { port: 0, protocol: 'UDP' },
        { port: address.port, protocol: 'TCP' },
      ],
      { logger: silentLogger, address: '127.0.0.1' },
    );
    if (started.ok) t.after(() => started.value.close());
    assert.ok(!started.ok);
    assert.equal(started.error.name, 'BindError');
    assert.equal(started.error.port, address.port);
    assert.equal(started.error.code, 'EADDRINUSE');
    assert.match(started.error.message, new RegExp(`cannot listen on ${address.port}/TCP .*EADDRINUSE`));
  });

  it('closes when its signal is aborted', async (t) => {
    const shutdown = new AbortController();
    const started = await serve([{ port: 0, protocol: 'TCP' }], {
      logger: silentLogger,
      address: '127.0.0.1',
      signal: shutdown.signal,
    });
    assert.ok(started.ok);
    t.after(() => started.value.close());
    shutdown.abort();
    await started.value.closed;
    const [r] = await runPlan({
      version: 1,
      timeoutMs: 300,
      attempts: 1,
      probes: [{ id: 'a', host: '127.0.0.1', port: started.value.bound[0]?.port ?? 0, protocol: 'TCP' }],
    });
    assert.deepEqual(r?.attempts, [{ kind: 'refused' }]);
  });
});

describe('a plan of 500 probes on loopback', () => {
  it('finishes in about one timeout and encodes under 4 KiB', async (t) => {
    const server = await startServer(t, '127.0.0.1', ['TCP', 'UDP']);
    const closedTcp = await freePort('TCP');
    const probes: ProbeSpec[] = Array.from({ length: 500 }, (_, i) => {
      const kind = i % 4;
      const protocol = kind % 2 === 0 ? 'TCP' : 'UDP';
      const port = kind === 3 ? closedTcp : portOf(server, protocol);
      return { id: i.toString(36), host: '127.0.0.1', port, protocol: kind === 3 ? 'TCP' : protocol };
    });
    const started = performance.now();
    const results = await runPlan({ version: 1, timeoutMs: 1000, attempts: 1, probes });
    const elapsed = performance.now() - started;
    const text = encodeResults(results);
    t.diagnostic(`500 probes: ${Math.round(elapsed)} ms, ${Buffer.byteLength(text)} bytes of results`);
    const kinds = results.map((r) => r.attempts[0]?.kind);
    assert.equal(kinds.filter((k) => k === 'connected').length, 375);
    assert.equal(kinds.filter((k) => k === 'refused').length, 125);
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
    assert.ok(Buffer.byteLength(text) < 4096);
  });
});
