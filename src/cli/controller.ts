// `netaudit controller`: wires the controller, its HTTP endpoints and signal handling.
import pino from 'pino';
import { parseNodeSelector } from '../audit/node-scope.ts';
import { Controller, defaultIdentity } from '../controller/controller.ts';
import { DEFAULT_EVENT_LIMITS } from '../controller/event-limits.ts';
import { startHttp } from '../controller/http.ts';
import { NetauditError, UsageError } from '../errors.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { preflight } from '../kube/preflight.ts';
import { Metrics } from '../report/metrics.ts';
import { parseExternals, parsePorts } from './analyze.ts';
import { durationFlag } from './duration-flag.ts';
import { checkProfileFlag, resolveProfile } from './profile-flag.ts';

export interface ControllerArgs {
  readonly listen: string;
  readonly kubeconfig: string | undefined;
  readonly interval: string;
  readonly settle: string;
  readonly namespace: readonly string[];
  readonly excludeNamespace: readonly string[];
  readonly port: readonly string[];
  readonly external: readonly string[];
  readonly profile: string;
  readonly image: string;
  readonly canary: boolean;
  readonly canaryNamespace: string;
  readonly canaryInterval: string;
  readonly leaseNamespace: string | undefined;
  readonly leaseName: string;
  readonly timeout: string;
  readonly attempts: number;
  readonly confirmAttempts: number;
  readonly clientDelay: string;
  readonly podTimeout: string;
  readonly concurrency: number;
  readonly rate: number;
  readonly maxMismatchSeries: number;
  readonly maxProbePods: number;
  readonly maxNewEvents: number;
  readonly maxOpenEvents: number;
  readonly tolerateTaints: boolean;
  readonly nodeSelector: string;
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
  const nodeSelector = parseNodeSelector(args.nodeSelector);
  if (!nodeSelector.ok) throw new UsageError(`--node-selector: ${nodeSelector.error}`);
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
    ports: args.port.length > 0 ? parsePorts(args.port) : undefined,
    externals: parseExternals(args.external),
    profile,
    image: args.image,
    canary: args.canary,
    canaryNamespace: args.canaryNamespace,
    canaryIntervalMs:
      args.canaryInterval.trim() === '0' ? 0 : durationFlag('canary-interval', args.canaryInterval),
    timeoutMs: durationFlag('timeout', args.timeout),
    attempts: args.attempts,
    confirmAttempts: args.confirmAttempts,
    clientDelayMs: durationFlag('client-delay', args.clientDelay),
    podTimeoutMs: durationFlag('pod-timeout', args.podTimeout),
    concurrency: args.concurrency,
    rate: args.rate,
    maxProbePods: args.maxProbePods > 0 ? args.maxProbePods : undefined,
    eventLimits: {
      ...DEFAULT_EVENT_LIMITS,
      maxNewPerRound: args.maxNewEvents,
      maxOpen: args.maxOpenEvents,
    },
    logger,
    metrics,
    instance: 'controller',
    nodeScope: { tolerateTaints: args.tolerateTaints, nodeSelector: nodeSelector.value },
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
