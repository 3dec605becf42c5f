// `netaudit controller`: wires the controller, its HTTP endpoints and signal handling.
import pino from 'pino';
import { Controller, defaultIdentity } from '../controller/controller.ts';
import { startHttp } from '../controller/http.ts';
import { NetauditError, UsageError } from '../errors.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { DEFAULT_EVENT_LIMITS } from '../kube/event-limits.ts';
import { preflight } from '../kube/preflight.ts';
import { Metrics } from '../report/metrics.ts';
import { durationFlag } from './duration-flag.ts';
import type { ProbeFlags } from './probe-flags.ts';
import { parseProbeSettings } from './probe-settings.ts';
import { checkProfileFlag, resolveProfile } from './profile-flag.ts';

export interface ControllerArgs extends ProbeFlags {
  readonly listen: string;
  readonly kubeconfig: string | undefined;
  readonly interval: string;
  readonly settle: string;
  readonly namespace: readonly string[];
  readonly excludeNamespace: readonly string[];
  readonly canary: boolean;
  readonly canaryNamespace: string;
  readonly canaryInterval: string;
  readonly leaseNamespace: string | undefined;
  readonly leaseName: string;
  readonly maxMismatchSeries: number;
  readonly maxProbePods: number;
  readonly maxNewEvents: number;
  readonly maxOpenEvents: number;
}

export async function runController(args: ControllerArgs): Promise<number> {
  if (!Number.isInteger(args.maxProbePods) || args.maxProbePods < 0)
    throw new UsageError(`--max-probe-pods ${args.maxProbePods}: a whole number, 0 for no budget`);
  for (const [flag, value] of [
    ['max-new-events', args.maxNewEvents],
    ['max-open-events', args.maxOpenEvents],
  ] as const)
    if (!Number.isInteger(value) || value < 1)
      throw new UsageError(`--${flag} ${value}: a whole number, at least 1`);
  const probe = parseProbeSettings(args);
  checkProfileFlag(args.profile);
  const logger = pino({ name: 'netaudit-controller', level: process.env.NETAUDIT_LOG_LEVEL ?? 'info' });
  const kc = loadKubeConfig({ kubeconfig: args.kubeconfig });
  const metrics = new Metrics({ maxMismatchSeries: args.maxMismatchSeries });
  const identity = defaultIdentity();
  const leaseNamespace = args.leaseNamespace ?? process.env.POD_NAMESPACE ?? 'netaudit';
  const problem = await preflight(kc, {
    leaseNamespace,
    canaryNamespace: args.canary ? args.canaryNamespace : undefined,
    logger,
  });
  if (problem) throw new NetauditError(problem);
  const { profile } = await resolveProfile(kc, args.profile, logger);
  const controller = new Controller(kc, {
    identity,
    namespace: leaseNamespace,
    leaseName: args.leaseName,
    intervalMs: durationFlag('interval', args.interval),
    settleMs: durationFlag('settle', args.settle),
    includeNamespaces: args.namespace,
    excludeNamespaces: args.excludeNamespace,
    ...probe,
    profile,
    canary: args.canary,
    canaryNamespace: args.canaryNamespace,
    canaryIntervalMs:
      args.canaryInterval.trim() === '0' ? 0 : durationFlag('canary-interval', args.canaryInterval),
    maxProbePods: args.maxProbePods > 0 ? args.maxProbePods : undefined,
    eventLimits: {
      ...DEFAULT_EVENT_LIMITS,
      maxNewPerRound: args.maxNewEvents,
      maxOpen: args.maxOpenEvents,
    },
    logger,
    metrics,
    instance: 'controller',
  });
  const server = await startHttp(
    args.listen,
    metrics.registry,
    () => controller.ready,
    () => ({
      leader: controller.isLeader,
      identity,
    }),
  );
  logger.info({ listen: args.listen, identity }, 'serving /metrics, /healthz, /readyz');
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutting down: ending the round, deleting probe pods, releasing the lease');
      void controller
        .stop()
        .catch((e: unknown) => logger.error({ err: String(e) }, 'shutdown'))
        .finally(() => {
          server.close();
          resolve(0);
        });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await controller.start();
  return done;
}
