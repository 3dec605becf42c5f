// The probe flags checked and converted once, for `audit` and `controller` alike.
import { parseNodeSelector } from '../audit/node-scope.ts';
import type { ProbeSettings } from '../audit/probe-settings.ts';
import { UsageError } from '../errors.ts';
import { parseExternals, parsePorts } from './analyze.ts';
import { durationFlag } from './duration-flag.ts';
import type { ProbeFlags } from './probe-flags.ts';

/** Checks and converts the probe flags; a bad value is a UsageError naming the flag. */
export function parseProbeSettings(flags: ProbeFlags): ProbeSettings {
  for (const [flag, value] of [
    ['attempts', flags.attempts],
    ['confirm-attempts', flags.confirmAttempts],
  ] as const)
    if (!Number.isInteger(value) || value < 1 || value > 10)
      throw new UsageError(`--${flag} ${value}: a whole number from 1 to 10`);
  if (!Number.isInteger(flags.concurrency) || flags.concurrency < 1)
    throw new UsageError(`--concurrency ${flags.concurrency}: a whole number, at least 1`);
  if (!(flags.rate > 0)) throw new UsageError(`--rate ${flags.rate}: pod creations per second, above 0`);
  const nodeSelector = parseNodeSelector(flags.nodeSelector);
  if (!nodeSelector.ok) throw new UsageError(`--node-selector: ${nodeSelector.error}`);
  return {
    ports: flags.port.length > 0 ? parsePorts(flags.port) : undefined,
    externals: parseExternals(flags.external),
    image: flags.image,
    timeoutMs: durationFlag('timeout', flags.timeout),
    attempts: flags.attempts,
    confirmAttempts: flags.confirmAttempts,
    clientDelayMs: durationFlag('client-delay', flags.clientDelay),
    podTimeoutMs: durationFlag('pod-timeout', flags.podTimeout),
    concurrency: flags.concurrency,
    rate: flags.rate,
    nodeScope: { tolerateTaints: flags.tolerateTaints, nodeSelector: nodeSelector.value },
  };
}
