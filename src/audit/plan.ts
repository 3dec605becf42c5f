// Which probe pods a round needs, as data (pure): one server per destination class per node, one
// client per source class per node; classes that cannot be probed safely are skipped with a reason.

import type { Labels } from '../core/k8s.ts';
import type { PortSpec } from '../core/traffic.ts';
import type { PodClass, Projection } from '../expect/classes.ts';
import { sortPorts } from '../expect/ports.ts';
import type { CompiledSelector } from '../policy/labels.ts';
import { selectorMatches } from '../policy/labels.ts';
import type { NamedContainerPort } from '../policy/types.ts';
import type { ClientSpec, ServerSpec } from '../probe/runner.ts';

export interface Guard {
  /** Why pods with these labels in this namespace must not be created, or undefined. */
  readonly namespace: string;
  readonly selector: CompiledSelector;
  readonly reason: string;
}

export interface SkippedClass {
  readonly classId: string;
  readonly namespace: string;
  readonly members: readonly string[];
  readonly reason: string;
}

export interface RoundPlan {
  readonly servers: readonly ServerSpec[];
  readonly clients: readonly ClientSpec[];
  readonly skipped: readonly SkippedClass[];
  readonly nodes: readonly string[];
}

export interface PlanInput {
  readonly classes: readonly PodClass[];
  readonly projection: Projection;
  readonly nodes: readonly string[];
  /** Ports each destination class is probed on. */
  readonly portsOf: (cls: PodClass) => readonly PortSpec[];
  readonly guards: readonly Guard[];
  /** Only classes in these namespaces take part (empty = all). */
  readonly namespaces: readonly string[];
  /** Label keys netaudit puts on its own pods: a class whose projection reads them cannot be imitated. */
  readonly reservedLabelPrefix: string;
}

/** The labels a probe pod carries to stand for its class: the class's labels on the projected keys. */
export function projectedLabels(cls: PodClass, projection: Projection): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of projection.labelKeys) {
    const v = cls.representative.labels[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Short, DNS-safe names: the class id is already short and stable. */
export function probePodName(role: 'srv' | 'cli', classId: string, nodeIndex: number, part = 0): string {
  return `netaudit-${role}-${classId}-n${nodeIndex}${part > 0 ? `-${part}` : ''}`;
}

/** A class that will be probed, with what its probe pods carry. */
export interface ScopedClass {
  readonly cls: PodClass;
  readonly labels: Labels;
  readonly containerPorts: readonly NamedContainerPort[];
  readonly listen: readonly PortSpec[];
}

/** The classes a round probes (in scope, safe to imitate) and those it skips with a reason. */
export function scopeClasses(input: PlanInput): {
  readonly scoped: readonly ScopedClass[];
  readonly skipped: readonly SkippedClass[];
} {
  const scoped: ScopedClass[] = [];
  const skipped: SkippedClass[] = [];
  const wanted = new Set(input.namespaces);
  const reserved = input.projection.labelKeys.filter((k) => k.startsWith(input.reservedLabelPrefix));
  for (const cls of input.classes) {
    if (wanted.size > 0 && !wanted.has(cls.namespace)) continue;
    const labels = projectedLabels(cls, input.projection);
    const skip = (reason: string): void => {
      skipped.push({
        classId: cls.id,
        namespace: cls.namespace,
        members: cls.members.map((m) => m.key),
        reason,
      });
    };
    if (reserved.length > 0) {
      skip(
        `policies select on netaudit's own label keys (${reserved.join(', ')}): its probe pods cannot stand for this class`,
      );
      continue;
    }
    const guard = input.guards.find(
      (g) => g.namespace === cls.namespace && selectorMatches(g.selector, labels),
    );
    if (guard) {
      skip(guard.reason);
      continue;
    }
    const listen = sortPorts(input.portsOf(cls));
    const named = cls.representative.ports.filter((p) => p.name !== undefined);
    const containerPorts: NamedContainerPort[] = [...named];
    for (const p of listen) {
      if (!containerPorts.some((c) => c.port === p.port && c.protocol === p.protocol)) {
        containerPorts.push({ name: undefined, port: p.port, protocol: p.protocol });
      }
    }
    scoped.push({ cls, labels, containerPorts, listen });
  }
  return { scoped, skipped };
}

/**
 * The probe pods of a round. `assignment` (class id -> indices into `input.nodes`, from `rotate`)
 * limits each class to some nodes; a class it does not list gets none. Without it every class is
 * on every node. Pod names carry the index in the full node list, so a pod's name does not depend
 * on which other nodes the round covers.
 */
export function planRound(input: PlanInput, assignment?: ReadonlyMap<string, readonly number[]>): RoundPlan {
  const servers: ServerSpec[] = [];
  const clients: ClientSpec[] = [];
  const { scoped, skipped } = scopeClasses(input);
  const everyNode = input.nodes.map((_, i) => i);
  for (const { cls, labels, containerPorts, listen } of scoped) {
    for (const i of assignment ? (assignment.get(cls.id) ?? []) : everyNode) {
      const node = input.nodes[i];
      if (node === undefined) continue;
      if (listen.length > 0) {
        servers.push({
          key: probePodName('srv', cls.id, i),
          classId: cls.id,
          namespace: cls.namespace,
          node,
          labels,
          containerPorts,
          listen,
        });
      }
      clients.push({
        key: probePodName('cli', cls.id, i),
        classId: cls.id,
        namespace: cls.namespace,
        node,
        labels,
      });
    }
  }
  return { servers, clients, skipped, nodes: input.nodes };
}
