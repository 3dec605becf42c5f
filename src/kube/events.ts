// Kubernetes Events (events.k8s.io/v1) for findings: ConnectivityMismatch (Warning) when a mismatch is
// confirmed, regarding the NetworkPolicy behind the expectation (or the pod when no policy is
// involved); repeated sightings update the event's series instead of creating new events;
// ConnectivityRestored (Normal) when it is gone.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Finding } from '../audit/round.ts';
import { kubeError } from './errors.ts';

export const REPORTING_CONTROLLER = 'netaudit.io/controller';
export const REASON_MISMATCH = 'ConnectivityMismatch';
export const REASON_RESTORED = 'ConnectivityRestored';

export function findingKey(f: Finding): string {
  return `${f.kind} ${f.from} -> ${f.to} ${f.port}/${f.protocol} @ ${f.nodes.join(',')}`;
}

/** The object an event about a finding is about: the policy behind the expectation, else the pod. */
export function regardingOf(f: Finding): k8s.V1ObjectReference {
  const rule = f.because[0];
  const ref = rule?.match(/^([^/\s]+)\/([^#\s]+)/);
  if (ref?.[1] && ref[2]) {
    return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: ref[1], name: ref[2] };
  }
  const pod = f.to.startsWith('ip:') ? f.from : f.to;
  const [namespace, name] = pod.split('/');
  return { apiVersion: 'v1', kind: 'Pod', ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

export function mismatchNote(f: Finding): string {
  const rules =
    f.because.length > 0 ? f.because.join('; ') : 'no policy isolates these pods: all traffic is allowed';
  const note =
    `${f.kind}: ${f.from} -> ${f.to} ${f.port}/${f.protocol} was expected to be ${f.expected === 'allow' ? 'allowed' : 'denied'} ` +
    `but was ${f.observed} (probe from node ${f.srcNode}${f.dstNode ? ` to node ${f.dstNode}` : ''}); ` +
    `${f.kind === 'unexpected-allow' ? `node ${f.nodes.join(', ')} did not enforce` : `dropped on the path ${f.nodes.join(' -> ')}`}; expectation from: ${rules}`;
  return note.length > 1000 ? `${note.slice(0, 997)}...` : note;
}

interface Open {
  readonly finding: Finding;
  event: k8s.EventsV1Event;
  count: number;
}

export class EventRecorder {
  private readonly api: k8s.EventsV1Api;
  private readonly instance: string;
  private readonly logger: Logger;
  private readonly open = new Map<string, Open>();

  constructor(kc: k8s.KubeConfig, instance: string, logger: Logger) {
    this.api = kc.makeApiClient(k8s.EventsV1Api);
    this.instance = instance;
    this.logger = logger;
  }

  /** Publishes the findings of a completed round: new ones, repeats (series), and the restored. */
  async publish(findings: readonly Finding[]): Promise<void> {
    const seen = new Set<string>();
    for (const f of findings) {
      const key = findingKey(f);
      seen.add(key);
      try {
        const existing = this.open.get(key);
        if (existing) await this.repeat(existing);
        else
          this.open.set(key, {
            finding: f,
            event: await this.create(f, 'Warning', REASON_MISMATCH, mismatchNote(f)),
            count: 1,
          });
      } catch (e) {
        this.logger.error(
          { err: e instanceof Error ? e.message : String(e), finding: key },
          'could not record event',
        );
      }
    }
    for (const [key, o] of this.open) {
      if (seen.has(key)) continue;
      this.open.delete(key);
      const f = o.finding;
      try {
        await this.create(
          f,
          'Normal',
          REASON_RESTORED,
          `${f.from} -> ${f.to} ${f.port}/${f.protocol} behaves as expected again (${f.expected === 'allow' ? 'allowed' : 'denied'}) after ${o.count} sighting(s) of ${f.kind}`,
        );
      } catch (e) {
        this.logger.error(
          { err: e instanceof Error ? e.message : String(e), finding: key },
          'could not record event',
        );
      }
    }
  }

  private async create(
    f: Finding,
    type: 'Warning' | 'Normal',
    reason: string,
    note: string,
  ): Promise<k8s.EventsV1Event> {
    const regarding = regardingOf(f);
    const namespace = regarding.namespace ?? 'default';
    const body: k8s.EventsV1Event = {
      metadata: { generateName: 'netaudit-', namespace },
      eventTime: new k8s.V1MicroTime(),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance,
      action: 'Probe',
      reason,
      type,
      regarding,
      note,
    };
    try {
      return await this.api.createNamespacedEvent({ namespace, body });
    } catch (e) {
      throw kubeError({ verb: 'create', resource: 'events', namespace }, e);
    }
  }

  private async repeat(o: Open): Promise<void> {
    o.count++;
    const namespace = o.event.metadata?.namespace ?? 'default';
    const name = o.event.metadata?.name ?? '';
    const body: k8s.EventsV1Event = {
      ...o.event,
      series: { count: o.count, lastObservedTime: new k8s.V1MicroTime() },
    };
    try {
      o.event = await this.api.replaceNamespacedEvent({ name, namespace, body });
    } catch (e) {
      throw kubeError({ verb: 'update', resource: 'events', namespace, name }, e);
    }
  }
}
