// `netaudit audit` arguments; the implementation (Kubernetes client, engine) loads only when it runs.
import type { Argv } from 'yargs';
import type { AuditArgs } from './audit.ts';
import type { CliCommand } from './command.ts';
import { PROFILE_CHOICES } from './profile-choices.ts';

/** The probe image: netaudit's own image (it runs `netaudit agent serve|probe`). */
export const DEFAULT_IMAGE = process.env.NETAUDIT_IMAGE ?? 'ghcr.io/netaudit/netaudit:v0.1.0';

export const auditCommand: CliCommand = {
  command: 'audit',
  describe:
    'Prove, with real TCP and UDP probes on every node, that a live cluster enforces its NetworkPolicies',
  builder: (y: Argv) =>
    y
      .option('kubeconfig', { type: 'string', describe: 'Kubeconfig file (default: as kubectl finds it)' })
      .option('context', { type: 'string', describe: 'Kubeconfig context' })
      .option('namespace', {
        alias: 'n',
        type: 'string',
        array: true,
        default: [],
        describe: 'Only probe classes in these namespaces (repeatable)',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        choices: ['table', 'json', 'markdown'],
        default: 'table',
      })
      .option('port', {
        type: 'string',
        array: true,
        default: [],
        describe: 'Probe exactly these ports, e.g. 80/TCP (repeatable)',
      })
      .option('external', {
        type: 'string',
        array: true,
        default: [],
        describe:
          'External target probed for egress, with the ports it listens on: 203.0.113.8=80/TCP,53/UDP (repeatable)',
      })
      .option('profile', {
        type: 'string',
        choices: PROFILE_CHOICES,
        default: 'auto',
        describe: 'CNI profile; auto detects Cilium, Calico or kube-router from what runs in the cluster',
      })
      .option('image', {
        type: 'string',
        default: DEFAULT_IMAGE,
        describe: "Probe image (netaudit's own image)",
      })
      .option('timeout', { type: 'string', default: '1s', describe: 'Connect timeout per attempt' })
      .option('attempts', { type: 'number', default: 1, describe: 'Attempts per probe' })
      .option('confirm-attempts', {
        type: 'number',
        default: 3,
        describe: 'Attempts when re-probing a mismatch before reporting it',
      })
      .option('settle', {
        type: 'string',
        default: '2s',
        describe: 'Wait after server pods run, before probing',
      })
      .option('client-delay', {
        type: 'string',
        default: '2s',
        describe: 'Client pods wait this long before probing (CNI learns their IP)',
      })
      .option('pod-timeout', { type: 'string', default: '90s', describe: 'How long to wait for probe pods' })
      .option('concurrency', { type: 'number', default: 25, describe: 'Pod creations in flight' })
      .option('rate', { type: 'number', default: 10, describe: 'Pod creations per second' })
      .option('instance', {
        type: 'string',
        default: 'audit',
        describe: 'Name of this auditor: orphans of the same instance are deleted at start',
      })
      .option('include-probes', {
        type: 'boolean',
        default: false,
        describe: 'With -o json: list every probe with its expectation and outcome',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: "Plan and print the engine's prediction; create no pod, probe nothing",
      })
      .option('details', {
        type: 'boolean',
        default: false,
        describe:
          'List every finding, flaky and inconclusive probe (default: node verdicts, findings grouped by cause)',
      })
      .option('fail-on-inconclusive', {
        type: 'boolean',
        default: false,
        describe: 'Exit 1 when any probe is inconclusive, as for a mismatch',
      })
      .option('tolerate-taints', {
        type: 'boolean',
        default: true,
        describe:
          'Probe nodes with NoSchedule/NoExecute taints, as node monitoring agents do (--no-tolerate-taints: leave them out, reported not-covered)',
      })
      .option('node-selector', {
        type: 'string',
        default: '',
        describe: 'Probe only nodes with these labels, e.g. kubernetes.io/os=linux (others: not-covered)',
      }),
  run: async (args) => (await import('./audit.ts')).runAudit(args as unknown as AuditArgs),
};
