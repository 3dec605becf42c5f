// Kubernetes Events (events.k8s.io/v1) for findings: ConnectivityMismatch (Warning) when a mismatch is
// confirmed, regarding the NetworkPolicy behind the expectation (or the pod when no policy is
// involved); repeated sightings update the event's series instead of creating new events;
// ConnectivityRestored (Normal) when it is gone.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Finding } from '../audit/round.ts';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../controller/event-limits.ts';
import { kubeError } from './errors.ts';

export const REPORTING_CONTROLLER = 'netaudit.io/controller';
export const REASON_MISMATCH = 'ConnectivityMismatch';
export const REASON_RESTORED = 'ConnectivityRestored';
export const REASON_NODE_NOT_ENFORCING = 'NodeNotEnforcing';
export const REASON_NODE_ENFORCING = 'NodeEnforcing';
/** Events about cluster-scoped objects (Nodes) live in `default`, as kubectl and the kubelet write them. */
export const CLUSTER_EVENTS_NAMESPACE = 'default';

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

/** The two calls the recorder makes; the kube client in production, a fake in unit tests. */
export interface EventSink {
  create(namespace: string, body: k8s.EventsV1Event): Promise<k8s.EventsV1Event>;
  replace(namespace: string, name: string, body: k8s.EventsV1Event): Promise<k8s.EventsV1Event>;
}

export function kubeEventSink(kc: k8s.KubeConfig): EventSink {
  const api = kc.makeApiClient(k8s.EventsV1Api);
  return {
    async create(namespace, body) {
      try {
        return await api.createNamespacedEvent({ namespace, body });
      } catch (e) {
        throw kubeError({ verb: 'create', resource: 'events', namespace }, e);
      }
    },
    async replace(namespace, name, body) {
      try {
        return await api.replaceNamespacedEvent({ name, namespace, body });
      } catch (e) {
        throw kubeError({ verb: 'update', resource: 'events', namespace, name }, e);
      }
    },
  };
}

export interface PublishResult {
  readonly created: number;
  readonly updated: number;
  readonly restored: number;
  /** Findings left without an Event this round because of the limits. */
  readonly deferred: number;
  readonly errors: number;
}

interface Open {
  readonly finding: Finding;
  event: k8s.EventsV1Event;
  count: number;
  /** When the series was last written (0: never). */
  written: number;
}

export class EventRecorder {
  private readonly sink: EventSink;
  private readonly instance: string;
  private readonly logger: Logger;
  private readonly limits: EventLimits;
  private readonly now: () => number;
  private readonly open = new Map<string, Open>();

  constructor(
    sink: EventSink,
    instance: string,
    logger: Logger,
    limits: EventLimits = DEFAULT_EVENT_LIMITS,
    now: () => number = Date.now,
  ) {
    this.sink = sink;
    this.instance = instance;
    this.logger = logger;
    this.limits = limits;
    this.now = now;
  }

  /** Mismatch Events open now (one per finding key). */
  get openCount(): number {
    return this.open.size;
  }

  /**
   * Publishes the standing findings after a completed round: new ones (within the limits), repeats
   * (series), and ConnectivityRestored for open ones that are gone.
   */
  async publish(findings: readonly Finding[]): Promise<PublishResult> {
    let created = 0;
    let updated = 0;
    let restored = 0;
    let deferred = 0;
    let errors = 0;
    const seen = new Set<string>();
    for (const f of findings) {
      const key = findingKey(f);
      if (seen.has(key)) continue;
      seen.add(key);
      const existing = this.open.get(key);
      if (!existing && (created >= this.limits.maxNewPerRound || this.open.size >= this.limits.maxOpen)) {
        deferred++;
        continue;
      }
      try {
        if (existing) {
          if (await this.repeat(existing)) updated++;
        } else {
          const event = await this.create(f, 'Warning', REASON_MISMATCH, mismatchNote(f));
          this.open.set(key, { finding: f, event, count: 1, written: this.now() });
          created++;
        }
      } catch (e) {
        errors++;
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
        restored++;
      } catch (e) {
        errors++;
        this.logger.error(
          { err: e instanceof Error ? e.message : String(e), finding: key },
          'could not record event',
        );
      }
    }
    if (deferred > 0)
      this.logger.warn(
        { deferred, created, open: this.open.size, ...this.limits },
        'event limits reached: these mismatches are in the metrics and get Events once others clear',
      );
    return { created, updated, restored, deferred, errors };
  }

  /** One Event regarding a Node: `NodeNotEnforcing` (Warning) or `NodeEnforcing` (Normal). */
  async node(name: string, type: 'Warning' | 'Normal', reason: string, note: string): Promise<void> {
    await this.sink.create(CLUSTER_EVENTS_NAMESPACE, {
      metadata: { generateName: 'netaudit-', namespace: CLUSTER_EVENTS_NAMESPACE },
      eventTime: new k8s.V1MicroTime(),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance,
      action: 'Probe',
      reason,
      type,
      regarding: { apiVersion: 'v1', kind: 'Node', name },
      note: note.length > 1000 ? `${note.slice(0, 997)}...` : note,
    });
  }

  private async create(
    f: Finding,
    type: 'Warning' | 'Normal',
    reason: string,
    note: string,
  ): Promise<k8s.EventsV1Event> {
    const regarding = regardingOf(f);
    const namespace = regarding.namespace ?? 'default';
    return this.sink.create(namespace, {
      metadata: { generateName: 'netaudit-', namespace },
      eventTime: new k8s.V1MicroTime(),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance,
      action: 'Probe',
      reason,
      type,
      regarding,
      note,
    });
  }

  /** Counts a sighting; writes the series on the second one and then once per refresh period. */
  private async repeat(o: Open): Promise<boolean> {
    o.count++;
    const now = this.now();
    if (o.count > 2 && now - o.written < this.limits.seriesRefreshMs) return false;
    const namespace = o.event.metadata?.namespace ?? 'default';
    const name = o.event.metadata?.name ?? '';
    o.event = await this.sink.replace(namespace, name, {
      ...o.event,
      series: { count: o.count, lastObservedTime: new k8s.V1MicroTime(now) },
    });
    o.written = now;
    return true;
  }
}
