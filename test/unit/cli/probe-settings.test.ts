// The probe flags, parsed once for `audit` and `controller`: values a user writes, the settings they
// become (written out here by hand), and the messages a bad value gets. Both commands must accept
// and refuse the same values.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import yargs from 'yargs';
import { probePodDeadlines } from '../../../src/audit/probe-settings.ts';
import { type ProbeFlags, probeFlagOptions } from '../../../src/cli/probe-flags.ts';
import { parseProbeSettings } from '../../../src/cli/probe-settings.ts';
import { UsageError } from '../../../src/errors.ts';

function flags(argv: string[], fromEnv = false): ProbeFlags {
  return probeFlagOptions(yargs(argv), fromEnv).parseSync() as unknown as ProbeFlags;
}

describe('probe settings', () => {
  test('the defaults, the same for audit and controller', () => {
    const expected = {
      ports: undefined,
      externals: [],
      image: flags([]).image,
      timeoutMs: 1000,
      attempts: 1,
      confirmAttempts: 3,
      clientDelayMs: 2000,
      podTimeoutMs: 90_000,
      concurrency: 25,
      rate: 10,
      nodeScope: { tolerateTaints: true, nodeSelector: {} },
    };
    assert.deepEqual(parseProbeSettings(flags([])), expected);
    assert.deepEqual(parseProbeSettings(flags([], true)), expected);
  });

  test('values a user writes', () => {
    const s = parseProbeSettings(
      flags([
        '--port',
        '80/TCP',
        '--port',
        '53/UDP',
        '--timeout',
        '500ms',
        '--attempts',
        '2',
        '--pod-timeout',
        '2m',
        '--no-tolerate-taints',
        '--node-selector',
        'kubernetes.io/os=linux',
      ]),
    );
    assert.deepEqual(s.ports, [
      { port: 80, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
    ]);
    assert.equal(s.timeoutMs, 500);
    assert.equal(s.attempts, 2);
    assert.equal(s.podTimeoutMs, 120_000);
    assert.deepEqual(s.nodeScope, { tolerateTaints: false, nodeSelector: { 'kubernetes.io/os': 'linux' } });
  });

  test('the controller reads NETAUDIT_<FLAG> defaults; a flag on the command line wins', () => {
    process.env.NETAUDIT_CONFIRM_ATTEMPTS = '5';
    process.env.NETAUDIT_TIMEOUT = '3s';
    try {
      assert.equal(parseProbeSettings(flags([], true)).confirmAttempts, 5);
      assert.equal(parseProbeSettings(flags(['--timeout', '2s'], true)).timeoutMs, 2000);
      assert.equal(parseProbeSettings(flags([], false)).confirmAttempts, 3, 'audit ignores the environment');
    } finally {
      delete process.env.NETAUDIT_CONFIRM_ATTEMPTS;
      delete process.env.NETAUDIT_TIMEOUT;
    }
  });

  for (const [argv, message] of [
    [['--attempts', '0'], /^--attempts 0: a whole number from 1 to 10$/],
    [['--attempts', '11'], /^--attempts 11/],
    [['--confirm-attempts', '1.5'], /^--confirm-attempts 1.5/],
    [['--concurrency', '0'], /^--concurrency 0/],
    [['--rate', '0'], /^--rate 0/],
    [['--timeout', 'soon'], /timeout/],
    [['--node-selector', '=x'], /^--node-selector: /],
  ] as const)
    test(`refused: ${argv.join(' ')}`, () => {
      assert.throws(
        () => parseProbeSettings(flags([...argv])),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });
});

describe('probe pod deadlines', () => {
  test('a server outlives the waits of its run; a client its attempts and re-probes', () => {
    const d = probePodDeadlines(
      { podTimeoutMs: 90_000, clientDelayMs: 2000, timeoutMs: 1000, attempts: 1, confirmAttempts: 3 },
      2000,
    );
    // 3 x 90 s + 2 s + 180 s; 2 s x 2 + 1 s x 2 x 3 x 4 + 60 s
    assert.deepEqual(d, { serverSeconds: 452, clientSeconds: 88 });
  });
});
