// `netaudit controller` arguments (each flag's default reads NETAUDIT_<FLAG>, e.g. NETAUDIT_INTERVAL=30s;
// lists are comma-separated);
// the implementation loads only when it runs. docs/configuration.md lists them all.
import type { Argv } from 'yargs';
import { DEFAULT_EVENT_LIMITS } from '../kube/event-limits.ts';
import type { CliCommand } from './command.ts';
import type { ControllerArgs } from './controller.ts';
import { envBoolean, envList, envNumber, envString } from './env.ts';
import { probeFlagOptions } from './probe-flags.ts';

/** About 40 s of pod creation at the default --rate 10/s; docs/configuration.md says why. */
export const DEFAULT_MAX_PROBE_PODS = 400;

export const controllerCommand: CliCommand = {
  command: 'controller',
  describe: 'Audit continuously: metrics on /metrics, Events, leader election by Lease',
  builder: (y: Argv) =>
    probeFlagOptions(y, true)
      .option('listen', {
        type: 'string',
        default: envString('listen', ':9090'),
        describe: 'Address of /metrics, /healthz and /readyz',
      })
      .option('kubeconfig', {
        type: 'string',
        describe: 'Kubeconfig (default: in-cluster, or as kubectl finds it)',
      })
      .option('interval', {
        type: 'string',
        default: envString('interval', '60s'),
        describe: 'Time between rounds',
      })
      .option('settle', {
        type: 'string',
        default: envString('settle', '5s'),
        describe: 'Quiet time after a change before a round',
      })
      .option('namespace', {
        alias: 'n',
        type: 'string',
        array: true,
        default: envList('namespace'),
        describe: 'Only these namespaces (repeatable)',
      })
      .option('exclude-namespace', {
        type: 'string',
        array: true,
        default: envList('exclude-namespace'),
        describe: 'Never these namespaces (repeatable)',
      })
      .option('canary', {
        type: 'boolean',
        default: envBoolean('canary', true),
        describe: 'Probe the canary namespace on every node every round',
      })
      .option('canary-interval', {
        type: 'string',
        default: envString('canary-interval', '20s'),
        describe: 'Canary checks on every node, beside the full rounds (0s: off; rounds probe the canary)',
      })
      .option('canary-namespace', {
        type: 'string',
        default: envString('canary-namespace', 'netaudit-canary'),
      })
      .option('lease-namespace', {
        type: 'string',
        describe: 'Namespace of the Lease (default: POD_NAMESPACE or netaudit)',
      })
      .option('lease-name', { type: 'string', default: envString('lease-name', 'netaudit-controller') })
      .option('max-mismatch-series', {
        type: 'number',
        default: envNumber('max-mismatch-series', 200),
        describe: 'Cap on netaudit_mismatches series',
      })
      .option('max-probe-pods', {
        type: 'number',
        default: envNumber('max-probe-pods', DEFAULT_MAX_PROBE_PODS),
        describe: 'Probe pods per round; past it classes rotate over the nodes (0: no budget)',
      })
      .option('max-new-events', {
        type: 'number',
        default: envNumber('max-new-events', DEFAULT_EVENT_LIMITS.maxNewPerRound),
        describe: 'New ConnectivityMismatch Events per round (metrics count every mismatch)',
      })
      .option('max-open-events', {
        type: 'number',
        default: envNumber('max-open-events', DEFAULT_EVENT_LIMITS.maxOpen),
        describe: 'ConnectivityMismatch Events open at once',
      }),
  run: async (args) => (await import('./controller.ts')).runController(args as unknown as ControllerArgs),
};
