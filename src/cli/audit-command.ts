// `netaudit audit` arguments; the implementation (Kubernetes client, engine) loads only when it runs.
import type { Argv } from 'yargs';
import type { AuditArgs } from './audit.ts';
import type { CliCommand } from './command.ts';
import { probeFlagOptions } from './probe-flags.ts';

export const auditCommand: CliCommand = {
  command: 'audit',
  describe:
    'Prove, with real TCP and UDP probes on every node, that a live cluster enforces its NetworkPolicies',
  builder: (y: Argv) =>
    probeFlagOptions(y, false)
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
      .option('settle', {
        type: 'string',
        default: '2s',
        describe: 'Wait after server pods run, before probing',
      })
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
      }),
  run: async (args) => (await import('./audit.ts')).runAudit(args as unknown as AuditArgs),
};
