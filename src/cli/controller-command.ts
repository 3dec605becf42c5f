// `netaudit controller` arguments (each flag's default reads NETAUDIT_<FLAG>, e.g. NETAUDIT_INTERVAL=30s;
// lists are comma-separated);
// the implementation loads only when it runs. docs/configuration.md lists them all.
import type { Argv } from 'yargs';
import { DEFAULT_EVENT_LIMITS } from '../controller/event-limits.ts';
import { DEFAULT_IMAGE } from './audit-command.ts';
import type { CliCommand } from './command.ts';
import type { ControllerArgs } from './controller.ts';
import { envBoolean, envList, envNumber, envString } from './env.ts';
import { PROFILE_CHOICES } from './profile-choices.ts';

/** About 40 s of pod creation at the default --rate 10/s; docs/configuration.md says why. */
export const DEFAULT_MAX_PROBE_PODS = 400;

export const controllerCommand: CliCommand = {
  command: 'controller',
  describe: 'Audit continuously: metrics on /metrics, Events, leader election by Lease',
  builder: (y: Argv) =>
    y
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
      .option('port', {
        type: 'string',
        array: true,
        default: envList('port'),
        describe: 'Probe exactly these ports (repeatable)',
      })
      .option('external', {
        type: 'string',
        array: true,
        default: envList('external'),
        describe: 'External target IP[=PORT/PROTO,...] (repeatable)',
      })
      .option('profile', {
        type: 'string',
        choices: PROFILE_CHOICES,
        default: envString('profile', 'auto'),
        describe: 'CNI profile; auto detects Cilium, Calico or kube-router from what runs in the cluster',
      })
      .option('image', {
        type: 'string',
        default: envString('image', DEFAULT_IMAGE),
        describe: "Probe image (netaudit's own)",
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
      .option('timeout', {
        type: 'string',
        default: envString('timeout', '1s'),
        describe: 'Connect timeout per attempt',
      })
      .option('attempts', { type: 'number', default: envNumber('attempts', 1) })
      .option('confirm-attempts', { type: 'number', default: envNumber('confirm-attempts', 3) })
      .option('client-delay', { type: 'string', default: envString('client-delay', '2s') })
      .option('pod-timeout', { type: 'string', default: envString('pod-timeout', '90s') })
      .option('concurrency', {
        type: 'number',
        default: envNumber('concurrency', 25),
        describe: 'Pod creations in flight',
      })
      .option('rate', {
        type: 'number',
        default: envNumber('rate', 10),
        describe: 'Pod creations per second',
      })
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
      })
      .option('tolerate-taints', {
        type: 'boolean',
        default: envBoolean('tolerate-taints', true),
        describe:
          'Probe nodes with NoSchedule/NoExecute taints, as node monitoring agents do (false: leave them out, not-covered)',
      })
      .option('node-selector', {
        type: 'string',
        default: envString('node-selector', ''),
        describe: 'Probe only nodes with these labels, e.g. kubernetes.io/os=linux (others: not-covered)',
      }),
  run: async (args) => (await import('./controller.ts')).runController(args as unknown as ControllerArgs),
};
