// A runner that answers from the engine instead of launching pods: `netaudit audit --dry-run`, and the
// unit tests of the round. Faults are injected as a function, so tests can model a node that stopped
// enforcing, a stray drop, or flaky probes.
import { parseIpLiteral } from '../policy/cidr.ts';
import { evaluate } from '../policy/evaluate.ts';
import type { CniProfile } from '../policy/profiles.ts';
import { buildSnapshot, evalContext, type SnapshotInput } from '../policy/snapshot.ts';
import { type Endpoint, type PodInfo, podKey, type Traffic, type Verdict } from '../policy/types.ts';
import type { ProbeOutcome, ProbeResult } from '../probe/outcome.ts';
import type { ClientOutcome, ClientRun, ProbeRunner, ServerSpec, StartedServer } from '../probe/runner.ts';

export interface SimulatedProbe {
  readonly traffic: Traffic;
  readonly verdict: Verdict;
  readonly srcNode: string;
  /** Undefined for an external target. */
  readonly dstNode: string | undefined;
  /** 0 for the first run of this probe, 1 for its confirmation, ... */
  readonly runIndex: number;
  readonly attempt: number;
}

/** What the network does; default: exactly what the policies say (a REJECT answers a denial). */
export type NetworkModel = (probe: SimulatedProbe) => ProbeOutcome;

export const enforcingNetwork: NetworkModel = (p) =>
  p.verdict.allowed ? { kind: 'connected', ms: 1 } : { kind: 'refused' };

/** A network where the listed nodes stopped enforcing: their half of each decision is skipped. */
export function nodesNotEnforcing(nodes: readonly string[]): NetworkModel {
  const off = new Set(nodes);
  return (p) => {
    const egressBlocks = !p.verdict.egress.allowed && !off.has(p.srcNode);
    const ingressBlocks = !p.verdict.ingress.allowed && !(p.dstNode !== undefined && off.has(p.dstNode));
    return egressBlocks || ingressBlocks ? { kind: 'refused' } : { kind: 'connected', ms: 1 };
  };
}

export class SimulatedRunner implements ProbeRunner {
  private readonly network: NetworkModel;
  private readonly input: SnapshotInput;
  private readonly profile: CniProfile;
  private nextIp = 1;
  private created = 0;
  private readonly servers = new Map<string, StartedServer>();
  private readonly runsOf = new Map<string, number>();

  constructor(input: SnapshotInput, profile: CniProfile, network: NetworkModel = enforcingNetwork) {
    this.input = input;
    this.profile = profile;
    this.network = network;
  }

  get podsCreated(): number {
    return this.created;
  }

  private podOf(
    spec: { key: string; namespace: string; node: string; labels: Record<string, string> },
    ports: ServerSpec['containerPorts'],
  ): PodInfo {
    const text = `198.19.250.${this.nextIp++}`;
    const ip = parseIpLiteral(text);
    if (!ip.ok) throw new Error(ip.error);
    this.created++;
    return {
      key: podKey(spec.namespace, spec.key),
      namespace: spec.namespace,
      name: spec.key,
      labels: spec.labels,
      ips: [ip.value],
      ports,
      hostNetwork: false,
      node: spec.node,
      phase: 'Running',
    };
  }

  async startServers(specs: readonly ServerSpec[]) {
    const started = specs.map((spec) => {
      const s: StartedServer = {
        spec,
        name: spec.key,
        fresh: true,
        pod: this.podOf({ ...spec, labels: { ...spec.labels } }, spec.containerPorts),
      };
      this.servers.set(spec.key, s);
      return s;
    });
    return { started, failed: [] };
  }

  async runClients(runs: readonly ClientRun[]): Promise<ClientOutcome[]> {
    const ctx = evalContext(buildSnapshot(this.input, this.profile).snapshot);
    const byIp = new Map([...this.servers.values()].map((s) => [String(s.pod.ips[0]?.value), s]));
    return runs.map((run) => {
      const pod = this.podOf({ ...run.spec, key: run.name, labels: { ...run.spec.labels } }, []);
      const results: ProbeResult[] = run.plan.probes.map((probe) => {
        const ip = parseIpLiteral(probe.host);
        if (!ip.ok) return { id: probe.id, attempts: [{ kind: 'error', cause: 'EINVAL' }] };
        const server = byIp.get(String(ip.value.value));
        const to: Endpoint = server
          ? { kind: 'pod', pod: server.pod }
          : { kind: 'external', ip: ip.value, text: probe.host };
        const traffic: Traffic = { from: pod, to, port: probe.port, protocol: probe.protocol };
        const verdict = evaluate(ctx, traffic);
        const key = `${run.spec.key} ${probe.host} ${probe.port}/${probe.protocol}`;
        const runIndex = this.runsOf.get(key) ?? 0;
        this.runsOf.set(key, runIndex + 1);
        const attempts = Array.from({ length: run.plan.attempts }, (_, attempt) =>
          this.network({
            traffic,
            verdict,
            srcNode: run.spec.node,
            dstNode: server?.spec.node,
            runIndex,
            attempt,
          }),
        );
        return { id: probe.id, attempts };
      });
      return { run, pod, results, failure: undefined };
    });
  }

  async cleanup(): Promise<void> {
    this.servers.clear();
  }
}
