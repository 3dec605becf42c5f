// Kubernetes Events (events.k8s.io/v1) for findings: ConnectivityMismatch (Warning) when a mismatch is
// confirmed, regarding the NetworkPolicy behind the expectation (or the pod when no policy is
// involved); repeated sightings update the event's series instead of creating new events;
// ConnectivityRestored (Normal) when it is gone.
//
// Events outlive the process that wrote them: each mismatch Event carries its finding's key (a label
// with the key's hash, an annotation with the finding) and whether it is still open (a label). A new
// leader, or a restarted one, adopts the open ones before its first publish: a standing mismatch
// continues its series instead of getting a second Warning, and one that cleared while no leader was
// watching gets its ConnectivityRestored.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Finding } from '../core/flow.ts';
import { formatReason, reasonPolicy } from '../expect/reasons.ts';
import { CNP_GROUP, CNP_VERSION } from './cluster-policies.ts';
import { kubeError } from './errors.ts';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from './event-limits.ts';

export const REPORTING_CONTROLLER = 'netaudit.io/controller';
export const REASON_MISMATCH = 'ConnectivityMismatch';
export const REASON_RESTORED = 'ConnectivityRestored';
export const REASON_NODE_NOT_ENFORCING = 'NodeNotEnforcing';
export const REASON_NODE_ENFORCING = 'NodeEnforcing';
/** Events about cluster-scoped objects (Nodes) live in `default`, as kubectl and the kubelet write them. */
export const CLUSTER_EVENTS_NAMESPACE = 'default';

/** Labels and annotation on mismatch Events: the finding's key hash, and open or closed. */
export const LABEL_FINDING = 'netaudit.io/finding';
export const LABEL_OPEN = 'netaudit.io/open';
export const ANNOTATION_FINDING = 'netaudit.io/finding';

/** What a mismatch Event remembers of its finding: enough to adopt it and to word its Restored. */
export interface FindingSummary {
  readonly key: string;
  readonly kind: Finding['kind'];
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly expected: Finding['expected'];
}

export function findingHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function summaryOf(f: Finding): FindingSummary {
  return {
    key: findingKey(f),
    kind: f.kind,
    from: f.from,
    to: f.to,
    port: f.port,
    protocol: f.protocol,
    expected: f.expected,
  };
}

/** The summary stored on an Event by this version of netaudit, or undefined (not ours, or damaged). */
export function summaryFromEvent(e: k8s.EventsV1Event): FindingSummary | undefined {
  const text = e.metadata?.annotations?.[ANNOTATION_FINDING];
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as Partial<FindingSummary>;
    if (
      typeof s.key !== 'string' ||
      (s.kind !== 'unexpected-allow' && s.kind !== 'unexpected-deny') ||
      typeof s.from !== 'string' ||
      typeof s.to !== 'string' ||
      typeof s.port !== 'number' ||
      typeof s.protocol !== 'string' ||
      (s.expected !== 'allow' && s.expected !== 'deny')
    )
      return undefined;
    if (e.metadata?.labels?.[LABEL_FINDING] !== findingHash(s.key)) return undefined;
    return s as FindingSummary;
  } catch {
    return undefined;
  }
}

export function findingKey(f: Finding): string {
  return `${f.kind} ${f.from} -> ${f.to} ${f.port}/${f.protocol} @ ${f.nodes.join(',')}`;
}

/** The object an event about a finding is about: the policy behind the expectation, else the pod. */
export function regardingOf(f: Finding): k8s.V1ObjectReference {
  const reason = f.because[0];
  if (reason) {
    const policy = reasonPolicy(reason);
    return policy.kind === 'ClusterNetworkPolicy'
      ? { apiVersion: `${CNP_GROUP}/${CNP_VERSION}`, kind: 'ClusterNetworkPolicy', name: policy.name }
      : {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          namespace: policy.namespace,
          name: policy.name,
        };
  }
  const pod = f.to.startsWith('ip:') ? f.from : f.to;
  const [namespace, name] = pod.split('/');
  return { apiVersion: 'v1', kind: 'Pod', ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

export function mismatchNote(f: Finding): string {
  const rules =
    f.because.length > 0
      ? f.because.map(formatReason).join('; ')
      : 'no policy isolates these pods: all traffic is allowed';
  const note =
    `${f.kind}: ${f.from} -> ${f.to} ${f.port}/${f.protocol} was expected to be ${f.expected === 'allow' ? 'allowed' : 'denied'} ` +
    `but was ${f.observed} (probe from node ${f.srcNode}${f.dstNode ? ` to node ${f.dstNode}` : ''}); ` +
    `${f.kind === 'unexpected-allow' ? `node ${f.nodes.join(', ')} did not enforce` : `dropped on the path ${f.nodes.join(' -> ')}`}; expectation from: ${rules}`;
  return note.length > 1000 ? `${note.slice(0, 997)}...` : note;
}

/** The calls the recorder makes; the kube client in production, a fake in unit tests. */
export interface EventSink {
  create(namespace: string, body: k8s.EventsV1Event): Promise<k8s.EventsV1Event>;
  replace(namespace: string, name: string, body: k8s.EventsV1Event): Promise<k8s.EventsV1Event>;
  /** Events in every namespace carrying these labels. */
  list(labelSelector: string): Promise<k8s.EventsV1Event[]>;
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
    async list(labelSelector) {
      try {
        return (await api.listEventForAllNamespaces({ labelSelector })).items;
      } catch (e) {
        throw kubeError({ verb: 'list', resource: 'events' }, e);
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
  readonly finding: FindingSummary;
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
  /** The open Events written before this process led were read (once per leadership term). */
  private adopted = false;

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

  /** Leadership lost: another replica writes the Events now; adopt them again if it comes back. */
  forget(): void {
    this.open.clear();
    this.adopted = false;
  }

  /**
   * Reads the open mismatch Events netaudit wrote (any replica, any earlier process) and takes them
   * over: their series continue, and those that cleared get their Restored. The first sighting after
   * adoption writes the series, so the hand-over shows on the Event. Of several open Events for one
   * finding (two leaders for a moment), the newest is kept and the others are closed.
   */
  async adopt(): Promise<{ readonly adopted: number; readonly closed: number }> {
    const events = (await this.sink.list(`${LABEL_OPEN}=true`)).filter(
      (e) => e.reportingController === REPORTING_CONTROLLER && e.reason === REASON_MISMATCH,
    );
    const newest = new Map<string, { summary: FindingSummary; event: k8s.EventsV1Event }>();
    const stale: k8s.EventsV1Event[] = [];
    for (const event of events) {
      const summary = summaryFromEvent(event);
      if (!summary) continue;
      const current = newest.get(summary.key);
      if (!current) newest.set(summary.key, { summary, event });
      else if (lastSeen(event) > lastSeen(current.event)) {
        stale.push(current.event);
        newest.set(summary.key, { summary, event });
      } else stale.push(event);
    }
    let adopted = 0;
    for (const [key, { summary, event }] of newest) {
      if (this.open.has(key)) continue;
      this.open.set(key, { finding: summary, event, count: event.series?.count ?? 1, written: 0 });
      adopted++;
    }
    let closed = 0;
    for (const e of stale) {
      try {
        await this.close(e);
        closed++;
      } catch (err) {
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'could not close a duplicate event',
        );
      }
    }
    this.adopted = true;
    if (adopted > 0 || closed > 0) this.logger.info({ adopted, closed }, 'adopted the open mismatch events');
    return { adopted, closed };
  }

  /**
   * Publishes the standing findings after a completed round: new ones (within the limits), repeats
   * (series), and ConnectivityRestored for open ones that are gone. `owns` says which open Events the
   * run could have seen again: a run that probed part of the cluster (the canary) restores nothing
   * outside it, though a new leader adopted those Events before any run owning them published.
   */
  async publish(
    findings: readonly Finding[],
    owns: (f: FindingSummary) => boolean = () => true,
  ): Promise<PublishResult> {
    let created = 0;
    let updated = 0;
    let restored = 0;
    let deferred = 0;
    let errors = 0;
    if (!this.adopted) {
      try {
        await this.adopt();
      } catch (e) {
        // Not adopted: this publish may write a second Warning for a standing finding. Try next time.
        errors++;
        this.logger.error(
          { err: e instanceof Error ? e.message : String(e) },
          'could not read the open events',
        );
      }
    }
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
          this.open.set(key, { finding: summaryOf(f), event, count: 1, written: this.now() });
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
      if (seen.has(key) || !owns(o.finding)) continue;
      this.open.delete(key);
      const f = o.finding;
      try {
        await this.write(
          o.event.regarding ?? {},
          'Normal',
          REASON_RESTORED,
          `${f.from} -> ${f.to} ${f.port}/${f.protocol} behaves as expected again (${f.expected === 'allow' ? 'allowed' : 'denied'}) after ${o.count} sighting(s) of ${f.kind}`,
        );
        restored++;
        await this.close(o.event);
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
    const warning = reason === REASON_NODE_NOT_ENFORCING;
    // A node back to enforcing closes its open Warnings, whichever replica wrote them.
    if (!warning) {
      // Best effort: an unclosed Warning only means a later leader starts from "broken" and corrects
      // it with its first run; the NodeEnforcing itself must not depend on it.
      try {
        for (const e of await this.openNodeWarnings()) if (e.regarding?.name === name) await this.close(e);
      } catch (err) {
        this.logger.warn(
          { node: name, err: err instanceof Error ? err.message : String(err) },
          'could not close the open NodeNotEnforcing events',
        );
      }
    }
    await this.sink.create(CLUSTER_EVENTS_NAMESPACE, {
      metadata: {
        generateName: 'netaudit-',
        namespace: CLUSTER_EVENTS_NAMESPACE,
        ...(warning ? { labels: { [LABEL_OPEN]: 'true' } } : {}),
      },
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

  /** Open `NodeNotEnforcing` Warnings netaudit wrote (any replica): the nodes a new leader knows are broken. */
  async openNodeWarnings(): Promise<k8s.EventsV1Event[]> {
    return (await this.sink.list(`${LABEL_OPEN}=true`)).filter(
      (e) =>
        e.reportingController === REPORTING_CONTROLLER &&
        e.reason === REASON_NODE_NOT_ENFORCING &&
        e.regarding?.kind === 'Node',
    );
  }

  /** Marks a mismatch (or node) Event closed, so that no later leader adopts it. */
  private async close(e: k8s.EventsV1Event): Promise<void> {
    const namespace = e.metadata?.namespace ?? 'default';
    await this.sink.replace(namespace, e.metadata?.name ?? '', {
      ...e,
      metadata: { ...e.metadata, labels: { ...e.metadata?.labels, [LABEL_OPEN]: 'false' } },
    });
  }

  private async create(
    f: Finding,
    type: 'Warning' | 'Normal',
    reason: string,
    note: string,
  ): Promise<k8s.EventsV1Event> {
    const summary = summaryOf(f);
    return this.write(regardingOf(f), type, reason, note, {
      labels: { [LABEL_FINDING]: findingHash(summary.key), [LABEL_OPEN]: 'true' },
      annotations: { [ANNOTATION_FINDING]: JSON.stringify(summary) },
    });
  }

  private async write(
    regarding: k8s.V1ObjectReference,
    type: 'Warning' | 'Normal',
    reason: string,
    note: string,
    meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): Promise<k8s.EventsV1Event> {
    const namespace = regarding.namespace ?? 'default';
    return this.sink.create(namespace, {
      metadata: { generateName: 'netaudit-', namespace, ...meta },
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

/** When an Event was last written: its series' last sighting, else its time. */
function lastSeen(e: k8s.EventsV1Event): number {
  const t = e.series?.lastObservedTime ?? e.eventTime;
  return t ? new Date(String(t)).getTime() || 0 : 0;
}
