// An in-memory Events API: records every call; names created Events like the API server would
// (generateName + counter) and keeps them, so that a second recorder (a new leader) can list them.
import type * as k8s from '@kubernetes/client-node';
import type { EventSink } from '../../src/kube/events.ts';

export class FakeSink implements EventSink {
  readonly calls: { verb: 'create' | 'replace'; body: k8s.EventsV1Event }[] = [];
  readonly stored = new Map<string, k8s.EventsV1Event>();
  private next = 0;
  failCreates = false;

  async create(namespace: string, body: k8s.EventsV1Event): Promise<k8s.EventsV1Event> {
    this.calls.push({ verb: 'create', body });
    if (this.failCreates) throw new Error('create events: 503 Service Unavailable');
    const made = { ...body, metadata: { ...body.metadata, namespace, name: `netaudit-${this.next++}` } };
    this.stored.set(`${namespace}/${made.metadata.name}`, made);
    return made;
  }

  async replace(namespace: string, name: string, body: k8s.EventsV1Event): Promise<k8s.EventsV1Event> {
    this.calls.push({ verb: 'replace', body });
    this.stored.set(`${namespace}/${name}`, body);
    return body;
  }

  async list(labelSelector: string): Promise<k8s.EventsV1Event[]> {
    const [key, value] = labelSelector.split('=') as [string, string];
    return [...this.stored.values()].filter((e) => e.metadata?.labels?.[key] === value);
  }

  count(verb: 'create' | 'replace', reason?: string): number {
    return this.calls.filter((c) => c.verb === verb && (!reason || c.body.reason === reason)).length;
  }
}
