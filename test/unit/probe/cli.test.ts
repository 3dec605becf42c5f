// End to end: `bin/netaudit agent serve` and `agent probe` as child processes on loopback.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type AgentArgs, runAgent } from '../../../src/cli/agent.ts';
import { UsageError } from '../../../src/errors.ts';
import { finalOutcome } from '../../../src/probe/outcome.ts';
import { decodeResults } from '../../../src/probe/results.ts';
import { freePort } from './helpers.ts';

const BIN = new URL('../../../bin/netaudit', import.meta.url).pathname;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI; the child is killed when the test ends, passed or failed. */
function start(
  t: TestContext,
  args: string[],
): { child: ChildProcess; done: Promise<Finished>; stdout: () => string } {
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, done, stdout: () => stdout };
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netaudit-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('netaudit agent', { concurrency: true }, () => {
  it('serve and probe: the probe writes results the controller can read to the termination log', async (t) => {
    const [tcp, udp, closed] = [await freePort('TCP'), await freePort('UDP'), await freePort('TCP')];
    const server = start(t, [
      'agent',
      'serve',
      '--address',
      '127.0.0.1',
      '--port',
      `${tcp}/tcp`,
      '--port',
      `${udp}/UDP`,
    ]);
    await until(() => (server.stdout().match(/"msg":"listening"/g) ?? []).length === 2, 'serve to listen');
    const log = join(await tempDir(t), 'termination-log');
    const plan = `v1,t=500,a=2,a=127.0.0.1:${tcp}/TCP,b=127.0.0.1:${udp}/UDP,c=127.0.0.1:${closed}/TCP`;
    const probe = await start(t, [
      'agent',
      'probe',
      '--plan',
      plan,
      '--termination-log',
      log,
      '--timeout',
      '300ms',
    ]).done;
    assert.equal(probe.code, 0, probe.stderr);
    const message = await readFile(log, 'utf8');
    assert.equal(probe.stdout, `${message}\n`);
    const results = decodeResults(message);
    assert.ok(results.ok, message);
    assert.deepEqual(
      results.value.map((r) => [r.id, r.attempts.length, finalOutcome(r.attempts).kind]),
      [
        ['a', 2, 'connected'],
        ['b', 2, 'connected'],
        ['c', 2, 'refused'],
      ],
    );
    assert.match(probe.stderr, /"msg":"plan finished"/);

    server.child.kill('SIGTERM');
    const stopped = await server.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /"msg":"server closed"/);
  });

  it('serve exits 2 naming the port when it cannot listen on it', async (t) => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const address = taken.address();
    assert.ok(typeof address === 'object' && address);
    const run = await start(t, ['agent', 'serve', '--address', '127.0.0.1', '--port', `${address.port}/TCP`])
      .done;
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`cannot listen on ${address.port}/TCP .*EADDRINUSE`));
  });

  const usage: string[][] = [
    ['agent', 'serve', '--port', '80/ICMP'],
    ['agent', 'dance'],
  ];
  for (const args of usage) {
    it(`exits 2 for 'netaudit ${args.join(' ')}'`, async (t) => {
      const run = await start(t, args).done;
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^netaudit: /);
    });
  }

  it('probe exits 2 for a bad plan and says why in the termination log', async (t) => {
    const log = join(await tempDir(t), 'termination-log');
    const run = await start(t, [
      'agent',
      'probe',
      '--plan',
      'v1,t=1000,a=1,x=nowhere:80/TCP',
      '--termination-log',
      log,
    ]).done;
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--plan: plan token 3 .*host 'nowhere'/);
    const decoded = decodeResults(await readFile(log, 'utf8'));
    assert.ok(!decoded.ok && /could not run its plan: --plan: plan token 3/.test(decoded.error.message));
  });

  it('probe prints the results and exits 2 when the termination log cannot be written', async (t) => {
    const closed = await freePort('TCP');
    const log = join(await tempDir(t), 'no-such-dir', 'termination-log');
    const run = await start(t, [
      'agent',
      'probe',
      '--plan',
      `v1,t=300,a=1,0=127.0.0.1:${closed}/TCP`,
      '--termination-log',
      log,
    ]).done;
    assert.equal(run.code, 2);
    assert.equal(run.stdout, 'netaudit-probe v1 1\n0:r\n');
    assert.match(run.stderr, /cannot write the results to --termination-log .*no-such-dir/);
  });
});

describe('agent flags', () => {
  const base: AgentArgs = {
    action: 'serve',
    port: [],
    address: undefined,
    plan: undefined,
    timeout: undefined,
    attempts: undefined,
    delay: undefined,
    terminationLog: '/nonexistent/termination-log',
  };
  const cases: { args: Partial<AgentArgs>; message: RegExp }[] = [
    { args: { port: ['80/ICMP'] }, message: /^--port 80\/ICMP: protocol 'ICMP'/ },
    { args: { port: ['80/TCP', '70000'] }, message: /^--port 70000: port 70000 .* not in 1-65535/ },
    { args: { port: ['http'] }, message: /^--port http: 'http' is not PORT/ },
    { args: {}, message: /name at least one --port/ },
    { args: { port: ['80'], plan: 'v1,t=1000,a=1' }, message: /--plan is an option of 'agent probe'/ },
    { args: { action: 'probe' }, message: /--plan is required/ },
    { args: { action: 'probe', port: ['80'] }, message: /--port and --address are options of 'agent serve'/ },
    {
      args: { action: 'probe', plan: 'v1,t=1000,a=1', timeout: '1' },
      message: /^--timeout 1: '1' has no unit/,
    },
    {
      args: { action: 'probe', plan: 'v1,t=1000,a=1', timeout: '2m' },
      message: /^--timeout 2m: must be 1ms to 60s/,
    },
    {
      args: { action: 'probe', plan: 'v1,t=1000,a=1', attempts: 'many' },
      message: /^--attempts many: must be/,
    },
    { args: { action: 'probe', plan: 'v1,t=1000,a=1', attempts: '0' }, message: /^--attempts 0/ },
  ];
  for (const c of cases) {
    it(`refuses ${JSON.stringify(c.args)} with a usage error naming the flag and value`, async () => {
      await assert.rejects(runAgent({ ...base, ...c.args }), (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, c.message);
        return true;
      });
    });
  }
});
