// The seam between an audit round and the cluster: a real runner launches probe pods (src/kube), a
// simulated one answers from the engine (tests, --dry-run). Both speak in the same shapes: the
// server and client pods a round plans, and what became of them.

import type { Labels } from '../core/k8s.ts';
import type { PortSpec } from '../core/traffic.ts';
import type { NamedContainerPort, PodInfo } from '../policy/types.ts';
import type { ProbeResult } from './outcome.ts';
import type { ProbePlan } from './plan.ts';

export interface ServerSpec {
  readonly key: string;
  readonly classId: string;
  readonly namespace: string;
  readonly node: string;
  readonly labels: Labels;
  /** Named container ports of the class (named-port rules resolve on them) plus every port served. */
  readonly containerPorts: readonly NamedContainerPort[];
  readonly listen: readonly PortSpec[];
}

export interface ClientSpec {
  readonly key: string;
  readonly classId: string;
  readonly namespace: string;
  readonly node: string;
  readonly labels: Labels;
}

export interface StartedServer {
  readonly spec: ServerSpec;
  /** The pod's name: a server kept across rounds carries a suffix of its own beside the spec's key. */
  readonly name: string;
  /** Created for this run (the CNI may still be programming it), not kept from an earlier one. */
  readonly fresh: boolean;
  /** The server pod as the cluster sees it (labels, IP, named ports). */
  readonly pod: PodInfo;
}

export interface ClientRun {
  /** Unique pod name of this run (a client spec may need several pods when its plan is split). */
  readonly name: string;
  readonly spec: ClientSpec;
  readonly plan: ProbePlan;
  readonly delayMs: number;
}

export interface ClientOutcome {
  readonly run: ClientRun;
  /** The client pod as the cluster saw it (its IP matters to ipBlock rules). */
  readonly pod: PodInfo | undefined;
  readonly results: readonly ProbeResult[] | undefined;
  /** Why there are no results: the pod failed, timed out, or its message could not be read. */
  readonly failure: string | undefined;
}

export interface FailedPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly reason: string;
}

export interface ProbeRunner {
  startServers(specs: readonly ServerSpec[]): Promise<{ started: StartedServer[]; failed: FailedPod[] }>;
  runClients(runs: readonly ClientRun[]): Promise<ClientOutcome[]>;
  /** Deletes every pod this runner created. Safe to call twice. */
  cleanup(): Promise<void>;
  /** Probe pods created so far (for the report and the API budget). */
  readonly podsCreated: number;
}
