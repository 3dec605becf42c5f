// How probes run, as `audit` and `controller` both take it (parsed once from the same flags), and
// how long their pods may live as a consequence.
import type { PortSpec } from '../core/traffic.ts';
import type { ExternalTarget } from '../expect/ports.ts';
import type { NodeScopeOptions } from './node-scope.ts';
import { CONFIRM_SLACK } from './round.ts';

export interface ProbeSettings {
  /** Probe exactly these ports; undefined: each class's own ports. */
  readonly ports: readonly PortSpec[] | undefined;
  readonly externals: readonly ExternalTarget[];
  readonly image: string;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly confirmAttempts: number;
  /** Clients wait this long before probing, so every node has learned their IP. */
  readonly clientDelayMs: number;
  /** How long to wait for probe pods to run or finish. */
  readonly podTimeoutMs: number;
  /** Pod creations in flight, and per second. */
  readonly concurrency: number;
  readonly rate: number;
  readonly nodeScope: NodeScopeOptions;
}

/**
 * How long a run's probe pods may live (activeDeadlineSeconds), so that pods a vanished netaudit
 * left behind die on their own:
 * - a server: waiting for servers, clients and re-probe clients to run (a pod timeout each), the
 *   pause after servers start, and three minutes for them to start and report;
 * - a client: a re-probe's delay and attempts at their longer timeout, four waves of concurrent
 *   probes, and a minute for the pod to start and report.
 */
export function probePodDeadlines(
  s: Pick<ProbeSettings, 'podTimeoutMs' | 'clientDelayMs' | 'timeoutMs' | 'attempts' | 'confirmAttempts'>,
  serverPauseMs: number,
): { readonly serverSeconds: number; readonly clientSeconds: number } {
  const attempts = Math.max(s.attempts, s.confirmAttempts);
  return {
    serverSeconds: Math.ceil((s.podTimeoutMs * 3 + serverPauseMs + 180_000) / 1000),
    clientSeconds: Math.ceil(
      (s.clientDelayMs * CONFIRM_SLACK + s.timeoutMs * CONFIRM_SLACK * attempts * 4 + 60_000) / 1000,
    ),
  };
}
