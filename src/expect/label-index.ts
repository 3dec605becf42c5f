// Finds the items (namespaces, classes) a label selector can match without testing every item: a
// selector's In and Exists requirements name the only label values an item can have, so the
// smallest of their posting lists holds every match. Selectors with no such requirement ({}, or
// only NotIn / DoesNotExist) fall back to every item. Callers still test each candidate in full.
import type { Labels } from '../core/k8s.ts';
import type { CompiledSelector } from '../policy/labels.ts';

export class LabelIndex<T> {
  private readonly byValue = new Map<string, Map<string, Set<T>>>();
  private readonly byKey = new Map<string, Set<T>>();
  readonly all = new Set<T>();

  add(item: T, labels: Labels): void {
    this.all.add(item);
    for (const [k, v] of Object.entries(labels)) {
      let values = this.byValue.get(k);
      if (!values) {
        values = new Map();
        this.byValue.set(k, values);
      }
      let items = values.get(v);
      if (!items) {
        items = new Set();
        values.set(v, items);
      }
      items.add(item);
      let keyed = this.byKey.get(k);
      if (!keyed) {
        keyed = new Set();
        this.byKey.set(k, keyed);
      }
      keyed.add(item);
    }
  }

  remove(item: T, labels: Labels): void {
    this.all.delete(item);
    for (const [k, v] of Object.entries(labels)) {
      const values = this.byValue.get(k);
      const items = values?.get(v);
      items?.delete(item);
      if (items && items.size === 0) values?.delete(v);
      const keyed = this.byKey.get(k);
      keyed?.delete(item);
      if (keyed && keyed.size === 0) this.byKey.delete(k);
    }
  }

  /** A superset of the items the selector matches (often far smaller than `all`). */
  candidates(selector: CompiledSelector): Iterable<T> {
    if (selector.kind === 'everything') return this.all;
    let best: Iterable<T> = this.all;
    let bestSize = this.all.size;
    for (const r of selector.requirements) {
      if (r.operator === 'In') {
        const values = this.byValue.get(r.key);
        if (r.values.size === 1) {
          const [v] = r.values;
          const items = values?.get(v as string);
          const size = items?.size ?? 0;
          if (size < bestSize) {
            best = items ?? [];
            bestSize = size;
          }
        } else {
          const lists = [...r.values].map((v) => values?.get(v)).filter((s): s is Set<T> => s !== undefined);
          const size = lists.reduce((n, s) => n + s.size, 0);
          if (size < bestSize) {
            best = lists.flatMap((s) => [...s]);
            bestSize = size;
          }
        }
      } else if (r.operator === 'Exists') {
        const items = this.byKey.get(r.key);
        const size = items?.size ?? 0;
        if (size < bestSize) {
          best = items ?? [];
          bestSize = size;
        }
      }
    }
    return best;
  }
}
