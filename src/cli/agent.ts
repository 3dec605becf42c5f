// `netaudit agent serve|probe`: the probe agent that runs in netaudit's probe pods (same image as the
// controller). serve listens on the probed ports; probe runs a plan and writes the results to the
// termination message, which the controller reads from the pod status (no exec, no logs API).
import { writeFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import type { Argv } from 'yargs';
import { err, ok, type Result } from '../core/result.ts';
import type { PortSpec } from '../core/traffic.ts';
import { toError, UsageError } from '../errors.ts';
import { runPlan } from '../probe/client.ts';
import { parseDuration } from '../probe/duration.ts';
import { finalOutcome } from '../probe/outcome.ts';
import { decodePlan, MAX_ATTEMPTS, MAX_TIMEOUT_MS, type ProbePlan } from '../probe/plan.ts';
import { parsePortSpec } from '../probe/ports.ts';
import { encodeResults, RESULTS_ERROR_PREFIX, TERMINATION_MESSAGE_LIMIT } from '../probe/results.ts';
import { serve } from '../probe/server.ts';
import { formatSummary } from '../probe/summary.ts';
import type { CliCommand } from './command.ts';

const EXIT_OK = 0;
const EXIT_FAILURE = 2;
export const DEFAULT_TERMINATION_LOG = '/dev/termination-log';

export interface AgentArgs {
  readonly action: 'serve' | 'probe';
  readonly port: readonly string[];
  readonly address: string | undefined;
  readonly plan: string | undefined;
  readonly timeout: string | undefined;
  readonly attempts: string | undefined;
  readonly delay: string | undefined;
  readonly terminationLog: string;
}

/** Where the agent writes; a seam so a test can run the commands in-process. */
export interface AgentDeps {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly logger: (action: AgentArgs['action']) => Logger;
}

const defaultDeps: AgentDeps = {
  stdout: process.stdout,
  stderr: process.stderr,
  // serve logs on stdout (the pod's log); probe keeps stdout for the results and logs on stderr.
  logger: (action) =>
    pino(
      { name: 'netaudit-agent', level: process.env.NETAUDIT_LOG_LEVEL ?? 'info', base: { action } },
      pino.destination({ dest: action === 'serve' ? 1 : 2, sync: true }),
    ),
};

export const agentCommand: CliCommand = {
  command: 'agent <action>',
  describe: "Run netaudit's probe agent (in probe pods): serve ports, or probe a plan",
  builder: (y: Argv) =>
    y
      .positional('action', {
        choices: ['serve', 'probe'] as const,
        describe: 'serve: listen; probe: run a plan',
      })
      .option('port', {
        type: 'string',
        array: true,
        requiresArg: true,
        describe: 'serve: PORT[/TCP|UDP|SCTP] to listen on (repeatable; protocol default TCP)',
      })
      .option('address', {
        type: 'string',
        requiresArg: true,
        describe: 'serve: listen on this address only (default: every address, IPv6 and IPv4)',
      })
      .option('plan', {
        type: 'string',
        requiresArg: true,
        describe: 'probe: the plan (v1,t=<ms>,a=<n>,<id>=<host>:<port>/<PROTO>,...)',
      })
      .option('timeout', {
        type: 'string',
        requiresArg: true,
        describe: "probe: timeout per attempt, e.g. 500ms, 1s (default: the plan's)",
      })
      .option('attempts', {
        type: 'string',
        requiresArg: true,
        describe: "probe: attempts per probe (default: the plan's)",
      })
      .option('delay', {
        type: 'string',
        requiresArg: true,
        describe:
          "probe: wait this long before probing (e.g. 2s), so that every node has learned this pod's IP",
      })
      .option('termination-log', {
        type: 'string',
        requiresArg: true,
        default: DEFAULT_TERMINATION_LOG,
        describe: 'probe: file the results are written to (the pod termination message)',
      })
      .example('$0 agent serve --port 80/TCP --port 81/UDP', 'listen on TCP 80 and UDP 81 (UDP echoes)')
      .example(
        "$0 agent probe --plan 'v1,t=1000,a=2,0=10.244.1.7:80/TCP,1=10.244.1.7:81/UDP'",
        'probe twice each',
      ),
  run: (args) => runAgent(readArgs(args)),
};

export async function runAgent(args: AgentArgs, deps: AgentDeps = defaultDeps): Promise<number> {
  return args.action === 'serve' ? runServe(args, deps) : runProbe(args, deps);
}

function readArgs(raw: Record<string, unknown>): AgentArgs {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const port = raw.port;
  return {
    action: raw.action === 'probe' ? 'probe' : 'serve',
    port: Array.isArray(port) ? port.map(String) : typeof port === 'string' ? [port] : [],
    address: str(raw.address),
    plan: str(raw.plan),
    timeout: str(raw.timeout),
    attempts: str(raw.attempts),
    delay: str(raw.delay),
    terminationLog: str(raw.terminationLog) ?? DEFAULT_TERMINATION_LOG,
  };
}

async function runServe(args: AgentArgs, deps: AgentDeps): Promise<number> {
  for (const [flag, value] of [
    ['--plan', args.plan],
    ['--timeout', args.timeout],
    ['--attempts', args.attempts],
    ['--delay', args.delay],
  ] as const) {
    if (value !== undefined) throw new UsageError(`${flag} is an option of 'agent probe', not 'agent serve'`);
  }
  if (args.port.length === 0)
    throw new UsageError('agent serve: name at least one --port PORT[/PROTO], e.g. --port 80/TCP');
  const ports: PortSpec[] = [];
  for (const value of args.port) {
    const spec = parsePortSpec(value);
    if (!spec.ok) throw new UsageError(`--port ${value}: ${spec.error}`);
    ports.push(spec.value);
  }
  const logger = deps.logger('serve');
  const shutdown = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    shutdown.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const server = await serve(ports, {
      logger,
      signal: shutdown.signal,
      ...(args.address === undefined ? {} : { address: args.address }),
    });
    if (!server.ok) throw server.error; // a BindError naming the port: main prints it, exit 2
    await server.value.closed;
    return EXIT_OK;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

async function runProbe(args: AgentArgs, deps: AgentDeps): Promise<number> {
  if (args.port.length > 0 || args.address !== undefined) {
    throw new UsageError("--port and --address are options of 'agent serve', not 'agent probe'");
  }
  const plan = readPlan(args);
  if (!plan.ok) {
    // The termination message is the controller's only view of the pod: say why there are no results.
    await writeFile(args.terminationLog, `${RESULTS_ERROR_PREFIX} ${plan.error.message}`).catch(
      () => undefined,
    );
    throw plan.error;
  }
  const logger = deps.logger('probe');
  if (args.delay !== undefined) {
    const delay = parseDuration(args.delay);
    if (!delay.ok) throw new UsageError(`--delay ${args.delay}: ${delay.error}`);
    await new Promise((resolve) => setTimeout(resolve, delay.value));
  }
  const started = performance.now();
  const results = await runPlan(plan.value);
  const text = encodeResults(results);
  const bytes = Buffer.byteLength(text);
  deps.stdout.write(`${text}\n`);
  if (deps.stderr.isTTY) deps.stderr.write(formatSummary(plan.value, results));
  const counts: Record<string, number> = {};
  for (const r of results) {
    const kind = finalOutcome(r.attempts).kind;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  logger.info(
    { probes: results.length, ms: Math.round(performance.now() - started), bytes, outcomes: counts },
    'plan finished',
  );
  try {
    await writeFile(args.terminationLog, text);
  } catch (e) {
    deps.stderr.write(
      `netaudit: cannot write the results to --termination-log ${args.terminationLog}: ${toError(e).message}\n`,
    );
    return EXIT_FAILURE;
  }
  if (bytes > TERMINATION_MESSAGE_LIMIT) {
    deps.stderr.write(
      `netaudit: the results are ${bytes} bytes, over the kubelet's ${TERMINATION_MESSAGE_LIMIT}-byte termination message: split the plan (splitPlan)\n`,
    );
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

/** The plan with the command line's --timeout and --attempts applied, or a usage error naming the flag. */
function readPlan(args: AgentArgs): Result<ProbePlan, UsageError> {
  const fail = (message: string): Result<never, UsageError> => err(new UsageError(message));
  if (args.plan === undefined) return fail('agent probe: --plan is required');
  const decoded = decodePlan(args.plan);
  if (!decoded.ok) return fail(`--plan: ${decoded.error.message}`);
  let plan = decoded.value;
  if (args.timeout !== undefined) {
    const ms = parseDuration(args.timeout);
    if (!ms.ok) return fail(`--timeout ${args.timeout}: ${ms.error}`);
    if (ms.value < 1 || ms.value > MAX_TIMEOUT_MS)
      return fail(`--timeout ${args.timeout}: must be 1ms to ${MAX_TIMEOUT_MS / 1000}s`);
    plan = { ...plan, timeoutMs: ms.value };
  }
  if (args.attempts !== undefined) {
    const n = /^[0-9]{1,3}$/.test(args.attempts) ? Number(args.attempts) : Number.NaN;
    if (!(n >= 1 && n <= MAX_ATTEMPTS))
      return fail(`--attempts ${args.attempts}: must be a whole number from 1 to ${MAX_ATTEMPTS}`);
    plan = { ...plan, attempts: n };
  }
  return ok(plan);
}
