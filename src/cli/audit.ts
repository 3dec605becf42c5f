// `netaudit audit`: one round against a live cluster. Exit 0 = no mismatch, 1 = mismatches (or, with
// --fail-on-inconclusive, inconclusive probes), 2 = could not audit (with a message a person can act on).
import { randomBytes } from 'node:crypto';
import ora from 'ora';
import pino from 'pino';
import { guardsFor } from '../audit/guards.ts';
import { nodeScope } from '../audit/node-scope.ts';
import { diagnoseNodes, dryRunNodes } from '../audit/nodes.ts';
import { probePodDeadlines } from '../audit/probe-settings.ts';
import { type RoundProgress, type RoundReport, runRound } from '../audit/round.ts';
import { SimulatedRunner } from '../audit/simulated-runner.ts';
import { NetauditError } from '../errors.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { deleteOrphans, isImageFailure, KubeProbeRunner } from '../kube/launcher.ts';
import { readCluster } from '../kube/read-cluster.ts';
import type { ProbeRunner } from '../probe/runner.ts';
import { auditJson, auditMarkdown, auditTable } from '../report/audit-report.ts';
import { durationFlag } from './duration-flag.ts';
import type { ProbeFlags } from './probe-flags.ts';
import { parseProbeSettings } from './probe-settings.ts';
import { checkProfileFlag, resolveProfile } from './profile-flag.ts';

export interface AuditArgs extends ProbeFlags {
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly namespace: readonly string[];
  readonly output: 'table' | 'json' | 'markdown';
  readonly settle: string;
  readonly instance: string;
  readonly dryRun: boolean;
  readonly includeProbes: boolean;
  readonly details: boolean;
  readonly failOnInconclusive: boolean;
}

function progressReporter(enabled: boolean): { onProgress: (e: RoundProgress) => void; stop: () => void } {
  if (!enabled) return { onProgress: () => undefined, stop: () => undefined };
  const spinner = ora({ stream: process.stderr, text: 'reading the cluster' }).start();
  return {
    onProgress: (e) => {
      switch (e.phase) {
        case 'plan':
          spinner.text = `starting ${e.servers} server pods (${e.clients} clients to follow, ${e.skipped} classes skipped)`;
          break;
        case 'servers':
          spinner.text = `${e.started} servers up${e.failed ? `, ${e.failed} failed` : ''}; settling`;
          break;
        case 'probe':
          spinner.text = `probing: ${e.pods} client pods, ${e.probes} probes`;
          break;
        case 'confirm':
          spinner.text = `confirming ${e.candidates} candidate mismatches by probing again`;
          break;
        case 'done':
          spinner.text = 'deleting probe pods';
          break;
      }
    },
    stop: () => spinner.stop(),
  };
}

export async function runAudit(args: AuditArgs): Promise<number> {
  checkProfileFlag(args.profile);
  const probe = parseProbeSettings(args);
  // The pause after servers run, before clients probe them (the controller's --settle is another thing).
  const settleMs = durationFlag('settle', args.settle);
  const deadlines = probePodDeadlines(probe, settleMs);
  const logger = pino(
    { name: 'netaudit', level: process.env.NETAUDIT_LOG_LEVEL ?? 'warn' },
    pino.destination(2),
  );
  const kc = loadKubeConfig({ kubeconfig: args.kubeconfig, context: args.context });
  const { profile, detection } = await resolveProfile(kc, args.profile, logger);
  const runId = randomBytes(3).toString('hex');
  const interactive = process.stderr.isTTY === true && !process.env.CI;
  const progress = progressReporter(interactive);

  let runner: ProbeRunner | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    progress.stop();
    process.stderr.write(`netaudit: ${signal}: deleting probe pods\n`);
    void (runner?.cleanup() ?? Promise.resolve()).finally(() =>
      process.exit(signal === 'SIGINT' ? 130 : 143),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: RoundReport;
  let scope: ReturnType<typeof nodeScope>;
  try {
    if (!args.dryRun) await deleteOrphans(kc, args.instance, [runId], logger);
    const cluster = await readCluster(kc);
    if (cluster.clusterPoliciesUnavailable !== undefined)
      logger.info({ resource: 'clusternetworkpolicies' }, cluster.clusterPoliciesUnavailable);
    scope = nodeScope(cluster.nodes, probe.nodeScope);
    const nodes = scope.probe;
    if (nodes.length === 0) {
      throw new NetauditError(
        `no node to probe among ${cluster.nodes.length} nodes (NotReady, cordoned${
          args.tolerateTaints ? '' : ', tainted'
        }${args.nodeSelector ? ` or outside --node-selector ${args.nodeSelector}` : ''}): probe pods need somewhere to run`,
      );
    }
    const roundInput = {
      cluster: {
        namespaces: cluster.namespaces,
        pods: cluster.pods,
        policies: cluster.policies,
        clusterPolicies: cluster.clusterPolicies,
      },
      nodes,
      guards: guardsFor(cluster.services, cluster.disruptionBudgets),
    };
    runner = args.dryRun
      ? new SimulatedRunner(roundInput.cluster, profile)
      : new KubeProbeRunner(kc, {
          image: probe.image,
          instance: args.instance,
          runId,
          profile,
          concurrency: probe.concurrency,
          perSecond: probe.rate,
          serverDeadlineSeconds: deadlines.serverSeconds,
          clientDeadlineSeconds: deadlines.clientSeconds,
          waitTimeoutMs: probe.podTimeoutMs,
          pollMs: 500,
          logger,
        });
    report = await runRound(roundInput, runner, {
      profile,
      externals: probe.externals,
      ports: probe.ports,
      namespaces: args.namespace,
      timeoutMs: probe.timeoutMs,
      attempts: probe.attempts,
      confirmAttempts: probe.confirmAttempts,
      clientDelayMs: probe.clientDelayMs,
      settleMs,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
    await runner?.cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const imageFailures = report.failedPods.filter((f) => isImageFailure(f.reason));
  if (
    imageFailures.length > 0 &&
    imageFailures.length === report.failedPods.length &&
    report.summary.probes === 0
  ) {
    throw new NetauditError(
      `the probe image ${args.image} cannot run: ${imageFailures[0]?.reason}. Set --image (or NETAUDIT_IMAGE) to an image the nodes can pull.`,
    );
  }
  if (report.summary.probes === 0 && report.failedPods.length === 0 && report.skipped.length === 0) {
    throw new NetauditError(
      `nothing to probe: no pod${args.namespace.length > 0 ? ` in namespace ${args.namespace.join(', ')}` : ''} is a traffic endpoint (running, with an IP, not host-network)`,
    );
  }
  if (report.summary.probes === 0 && report.failedPods.length > 0) {
    throw new NetauditError(`no probe ran: ${report.failedPods[0]?.reason}`);
  }
  const view = {
    report,
    nodes: args.dryRun
      ? dryRunNodes(scope.all)
      : diagnoseNodes({
          nodes: scope.all,
          probes: report.probes,
          mismatches: report.mismatches,
          inconclusive: report.inconclusive,
          failedPods: report.failedPods,
          planned: undefined,
        }),
    dryRun: args.dryRun,
    details: args.details,
    profile: { name: profile.name, detected: detection?.reason },
  };
  const text =
    args.output === 'json'
      ? auditJson(
          view,
          { profile: profile.name, ...(detection ? { profileDetection: detection } : {}), runId },
          args.includeProbes,
        )
      : args.output === 'markdown'
        ? auditMarkdown(view)
        : auditTable(view, process.stdout.isTTY === true);
  process.stdout.write(text);
  return auditExitCode(report.summary, args.failOnInconclusive);
}

/** 1 = findings: a mismatch, or (with --fail-on-inconclusive) a probe that told nothing. */
export function auditExitCode(
  summary: { readonly mismatches: number; readonly inconclusive: number },
  failOnInconclusive: boolean,
): 0 | 1 {
  if (summary.mismatches > 0) return 1;
  return failOnInconclusive && summary.inconclusive > 0 ? 1 : 0;
}
