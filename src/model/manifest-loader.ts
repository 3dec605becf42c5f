// Collects objects one at a time, from wherever they were read (a YAML document, a JSON piece of a
// streamed List), into a LoadResult. Each object is first staged (checked, without side effects),
// then committed (duplicate names, namespaces in use, counts): the items of a streamed List whose
// `kind` comes after them are staged until the List's kind says whether they are objects at all.

import {
  type ClusterNetworkPolicy,
  NAMESPACE_NAME_LABEL,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '../core/k8s.ts';
import type { ManifestIssue } from '../errors.ts';
import { checkObject, NO_NAME } from './check-object.ts';
import { formatFieldPath, type PathSegment, parseFieldPath } from './field-path.ts';
import { KINDS, type KindInfo, nearMissApiVersion, nearMissKind } from './kinds.ts';
import { isListKind, itemDefaults, type ListDefaults } from './list-kind.ts';
import { formatObjectRef, type ObjectRef, objectRefKey } from './object-ref.ts';
import { readFields, readsPath } from './read-fields.ts';
import type { FieldIssue } from './validate.ts';

/** Namespaces the API server creates in every cluster. */
const BUILT_IN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

export interface SourcePosition {
  readonly file: string;
  /** 1-based line where the object starts. */
  readonly line: number;
  /** 0-based index of the document in its file. */
  readonly documentIndex: number;
}

export interface Loaded<T> {
  readonly object: T;
  readonly source: SourcePosition;
  readonly ref: ObjectRef;
  /** For a pod made from a workload's template: the workload (`Deployment prod/web`). */
  readonly origin?: ObjectRef;
  /** A namespace that no manifest defines, implied because objects live in it. */
  readonly implied?: true;
}

export interface LoadOptions {
  /** Namespace of objects without `metadata.namespace` (kubectl apply's `default` unless set). */
  readonly defaultNamespace?: string;
}

export type Locate = (ref: ObjectRef, fieldPath: string) => { file: string; line: number } | undefined;

export interface LoadResult {
  readonly namespaces: Loaded<Namespace>[];
  readonly pods: Loaded<Pod>[];
  readonly policies: Loaded<NetworkPolicy>[];
  readonly clusterPolicies: Loaded<ClusterNetworkPolicy>[];
  readonly issues: ManifestIssue[];
  /** Objects of kinds netaudit does not read (Service, ConfigMap, CRDs, ...): kind -> count. */
  readonly skipped: Record<string, number>;
  /** The file and line of a field of a loaded object (nearest existing ancestor if the field is absent). */
  readonly locate: Locate;
}

/**
 * Where an object sits: its file and document, and the line of a field path inside it (nearest
 * existing ancestor). `line` may parse the object's text again: it is called for issues and by
 * `locate`, never per object loaded.
 */
export interface Place {
  readonly file: string;
  readonly documentIndex: number;
  readonly line: (path: readonly PathSegment[]) => number;
  /**
   * Keys written twice in the object's text (paths from the object), which its parsed value no
   * longer shows; `line` gives the line of the repeat.
   */
  readonly repeated?: readonly (readonly PathSegment[])[];
}

/** A place below another one (`items[3]` of a List). */
export function placeBelow(place: Place, segments: readonly PathSegment[]): Place {
  const below = { ...place, line: (path: readonly PathSegment[]) => place.line([...segments, ...path]) };
  if (place.repeated === undefined) return below;
  const inside = (p: readonly PathSegment[]) => segments.every((s, i) => p[i] === s);
  return { ...below, repeated: place.repeated.filter(inside).map((p) => p.slice(segments.length)) };
}

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deeper than any field netaudit reads: the checks below recurse, and must not exhaust the stack. */
const MAX_DEPTH = 64;

/** The path to a value nested deeper than `max`, if any (iterative: the input may be very deep). */
function deeperThan(value: unknown, max: number): PathSegment[] | undefined {
  const stack: { v: unknown; path: PathSegment[] }[] = [{ v: value, path: [] }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, path } = top;
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= max) return path;
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push({ v: v[i], path: [...path, i] });
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: [...path, k] });
  }
  return undefined;
}

/**
 * What the checks below need to know of a value, in one walk that allocates nothing per node: is
 * it nested deeper than `max`, and does it hold a null anywhere (most objects hold none, and then
 * need no copy).
 */
function survey(value: unknown, max: number): 'deep' | 'nulls' | 'plain' {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  let nulls = false;
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop() ?? 0;
    if (v === null) nulls = true;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return 'deep';
    if (Array.isArray(v)) {
      for (const x of v) {
        values.push(x);
        depths.push(depth + 1);
      }
    } else {
      for (const k in v) {
        values.push((v as Raw)[k]);
        depths.push(depth + 1);
      }
    }
  }
  return nulls ? 'nulls' : 'plain';
}

/** Maps of strings: a null value there decodes as "" (Go's zero value), not as an absent key. */
const STRING_MAPS = new Set(['labels', 'matchLabels']);
/** Lists of strings: a null item decodes as ""; a null item of any other list we read is `{}`. */
const STRING_LISTS = new Set(['policyTypes', 'values', 'except']);

/**
 * Null as Kubernetes decodes it, before checking shapes: a null field is unset, a null value in a
 * map of strings is "", a null list item is the item type's zero value ("" or {}).
 */
function dropNulls(v: unknown, key?: string): unknown {
  if (Array.isArray(v)) {
    const zero = key !== undefined && STRING_LISTS.has(key) ? '' : {};
    return v.map((x) => (x === null ? zero : dropNulls(x)));
  }
  if (!isRecord(v)) return v;
  const out: Raw = {};
  const strings = key !== undefined && STRING_MAPS.has(key);
  for (const [k, x] of Object.entries(v)) {
    if (x !== null) out[k] = dropNulls(x, k);
    else if (strings) out[k] = '';
  }
  return out;
}

/** What reading one value gave, before it touches the result. */
export type Staged =
  | { readonly type: 'issue'; readonly place: Place; readonly object?: string; readonly issue: FieldIssue }
  | { readonly type: 'skip'; readonly kind: string }
  | {
      readonly type: 'object';
      readonly place: Place;
      readonly kind: string;
      readonly info: KindInfo;
      readonly ref: ObjectRef;
      readonly explicitNamespace: boolean;
      readonly result: ReturnType<typeof checkObject>;
    };

/** The locator of an object whose fields are where its own paths say. */
const unchanged = (p: PathSegment[]): PathSegment[] => p;

export class ManifestLoader {
  private readonly defaultNamespace: string;
  private readonly namespaces: Loaded<Namespace>[] = [];
  private readonly pods: Loaded<Pod>[] = [];
  private readonly policies: Loaded<NetworkPolicy>[] = [];
  private readonly clusterPolicies: Loaded<ClusterNetworkPolicy>[] = [];
  readonly issues: ManifestIssue[] = [];
  private readonly skipped: Record<string, number> = {};
  private readonly locators = new Map<
    string,
    { place: Place; translate: (p: PathSegment[]) => PathSegment[] }
  >();
  private readonly namespaceUses = new Map<
    string,
    { place: Place; object: string; explicit: boolean; source: SourcePosition }
  >();

  constructor(options: LoadOptions = {}) {
    this.defaultNamespace = options.defaultNamespace ?? 'default';
  }

  /** Reads one document's value (an object or a List) and commits what it holds. */
  add(value: unknown, place: Place): void {
    this.commit(this.stage(value, place));
  }

  /**
   * Checks one value without touching the result. `place` may be replaced for what is kept (so a
   * streamed item keeps a way to find its text again, not the text).
   */
  stage(value: unknown, place: Place, listDefaults?: ListDefaults, keep: Place = place): Staged[] {
    const out: Staged[] = [];
    this.stageInto(out, value, place, listDefaults, keep);
    return out;
  }

  private stageInto(
    out: Staged[],
    value: unknown,
    place: Place,
    listDefaults: ListDefaults | undefined,
    keep: Place,
  ): void {
    const issue = (path: PathSegment[], message: string, object?: string): void => {
      out.push({
        type: 'issue',
        place,
        ...(object !== undefined && { object }),
        issue: { severity: 'error', path, message },
      });
    };
    if (!isRecord(value)) {
      const found = Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value;
      issue([], `expected an object with apiVersion and kind, found ${found}`);
      return;
    }
    const kind = typeof value.kind === 'string' ? value.kind : listDefaults?.kind;
    const apiVersion = value.apiVersion ?? listDefaults?.apiVersion;
    if (kind === undefined || kind === '') {
      issue(['kind'], 'kind is required; every object needs apiVersion and kind');
      return;
    }
    if (isListKind(kind, 'items' in value)) {
      if (!Array.isArray(value.items)) {
        issue(['items'], `${kind} needs items: a list of objects`, kind);
        return;
      }
      const defaults = itemDefaults(kind, apiVersion);
      value.items.forEach((item, i) => {
        this.stageInto(out, item, placeBelow(place, ['items', i]), defaults, placeBelow(keep, ['items', i]));
      });
      return;
    }
    const info = KINDS.get(kind);
    if (info === undefined) {
      const meant = nearMissKind(kind, apiVersion);
      if (meant === undefined) out.push({ type: 'skip', kind });
      else
        issue(
          ['kind'],
          `kind "${kind}" does not exist; did you mean ${meant.kind}? (the API server rejects this object; netaudit reads ${meant.kind} with apiVersion ${meant.apiVersion})`,
          kind,
        );
      return;
    }
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      issue(['apiVersion'], `apiVersion is required; use ${info.apiVersion} for ${kind}`, kind);
      return;
    }
    if (apiVersion !== info.apiVersion) {
      if (!nearMissApiVersion(info, apiVersion)) {
        out.push({ type: 'skip', kind }); // same kind name in another API group (a CRD): not ours
        return;
      }
      issue(
        ['apiVersion'],
        `apiVersion "${apiVersion}" is not supported for ${kind}; use ${info.apiVersion}`,
        kind,
      );
      return;
    }
    const meta = isRecord(value.metadata) ? value.metadata : {};
    const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : NO_NAME;
    const givenNs = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
    const clusterScoped = info.role === 'namespace' || info.role === 'cluster-policy';
    const namespace = clusterScoped ? undefined : (givenNs ?? this.defaultNamespace);
    const ref: ObjectRef = namespace === undefined ? { kind, name } : { kind, namespace, name };
    const object = formatObjectRef(ref);
    // A repeated key in a field netaudit reads: the API server rejects it (strict field validation,
    // kubectl's default); repeats elsewhere are not looked for, as other unread fields are not.
    const repeated = place.repeated?.filter((p) => readsPath(p, info.role, kind)) ?? [];
    if (repeated.length > 0) {
      for (const p of repeated)
        issue(
          [...p],
          `key "${String(p.at(-1))}" appears twice in the same object (the API server rejects duplicate fields); this object is skipped`,
          object,
        );
      return;
    }
    const read = readFields(value, info.role, kind, { kind, apiVersion });
    const surveyed = survey(read, MAX_DEPTH);
    const deep = surveyed === 'deep' ? deeperThan(read, MAX_DEPTH) : undefined;
    if (deep !== undefined) {
      issue(
        deep.slice(0, 8),
        `nested more than ${MAX_DEPTH} levels deep below here; no Kubernetes field is`,
        object,
      );
      return;
    }
    let result: ReturnType<typeof checkObject>;
    try {
      result = checkObject(surveyed === 'nulls' ? dropNulls(read) : read, info, ref);
    } catch (e: unknown) {
      // A safety net: nothing a user writes may stop the run.
      issue([], `this object could not be checked (${e instanceof Error ? e.message : String(e)})`, object);
      return;
    }
    for (const fi of result.issues) out.push({ type: 'issue', place, object, issue: fi });
    if (result.built !== undefined)
      out.push({
        type: 'object',
        place: keep,
        kind,
        info,
        ref,
        explicitNamespace: givenNs !== undefined,
        result,
      });
  }

  commit(staged: readonly Staged[]): void {
    for (const s of staged) {
      switch (s.type) {
        case 'issue':
          this.report(s.place, s.object, s.issue);
          break;
        case 'skip':
          this.skipped[s.kind] = (this.skipped[s.kind] ?? 0) + 1;
          break;
        case 'object':
          this.commitObject(s);
          break;
      }
    }
  }

  /** An issue found while reading a file, outside any object (syntax errors). */
  addIssue(issue: ManifestIssue): void {
    this.issues.push(issue);
  }

  private report(place: Place, object: string | undefined, fi: FieldIssue): void {
    this.issues.push({
      severity: fi.severity,
      message: fi.message,
      file: place.file,
      line: place.line(fi.path),
      ...(object !== undefined && { object }),
      ...(fi.path.length > 0 && { field: formatFieldPath(fi.path) }),
    });
  }

  private positionOf(place: Place): SourcePosition {
    return { file: place.file, line: place.line([]), documentIndex: place.documentIndex };
  }

  /**
   * The key to record an object under, or undefined (with an error) when that ref was already
   * loaded: the first one's locator says where.
   */
  private claim(ref: ObjectRef, place: Place, object: () => string, what?: string): string | undefined {
    const key = objectRefKey(ref);
    const first = this.locators.get(key);
    if (first !== undefined) {
      const at = this.positionOf(first.place);
      this.report(place, object(), {
        severity: 'error',
        path: ['metadata', 'name'],
        message: `${what ?? formatObjectRef(ref)} is defined twice; this one is skipped, the first (${at.file}:${at.line}) is used`,
      });
      return undefined;
    }
    return key;
  }

  private commitObject(s: Extract<Staged, { type: 'object' }>): void {
    const { place, ref, info } = s;
    const built = s.result.built;
    // Formatted only for a message: most objects never need it.
    const object = () => formatObjectRef(ref);
    if (built === undefined) return;
    const key = this.claim(ref, place, object);
    if (key === undefined) return;
    const source = this.positionOf(place);
    this.locators.set(key, { place, translate: unchanged });
    const namespace = ref.namespace;
    if (namespace !== undefined && !this.namespaceUses.has(namespace))
      this.namespaceUses.set(namespace, { place, object: object(), explicit: s.explicitNamespace, source });
    switch (built.role) {
      case 'namespace':
        this.namespaces.push({ object: built.object, source, ref });
        return;
      case 'policy':
        this.policies.push({ object: built.object, source, ref });
        return;
      case 'cluster-policy':
        this.clusterPolicies.push({ object: built.object, source, ref });
        return;
      case 'pod':
        this.pods.push({ object: built.object, source, ref });
        return;
      case 'workload': {
        const podRef: ObjectRef = { kind: 'Pod', namespace, name: built.object.metadata.name ?? ref.name };
        const what = `the pod ${podRef.namespace}/${podRef.name} made from ${object()}`;
        const podKey = this.claim(podRef, place, object, what);
        if (podKey === undefined) return;
        const tp = info.templatePath;
        this.locators.set(podKey, {
          place,
          // The template's labels and spec stand for the pod's; name and namespace are the workload's.
          translate: (p) =>
            p[0] === 'spec' || (p[0] === 'metadata' && p[1] === 'labels') ? [...tp, ...p] : p,
        });
        this.pods.push({ object: built.object, source, ref: podRef, origin: ref });
        return;
      }
    }
  }

  /** Adds the namespaces objects live in but no manifest defines, and returns the result. */
  finish(): LoadResult {
    const defined = new Set(this.namespaces.map((n) => n.ref.name));
    for (const [name, use] of this.namespaceUses) {
      if (defined.has(name)) continue;
      // Every cluster has these, with only the name label unless someone added more: nothing to warn about.
      if (!BUILT_IN_NAMESPACES.has(name))
        this.issues.push({
          severity: 'warning',
          file: use.place.file,
          line: use.place.line(use.explicit ? ['metadata', 'namespace'] : []),
          object: use.object,
          ...(use.explicit && { field: 'metadata.namespace' }),
          message: `namespace "${name}" is not defined in the input; it is implied with only the label ${NAMESPACE_NAME_LABEL}=${name}, so namespaceSelectors on other labels will not match it`,
        });
      this.namespaces.push({
        object: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { [NAMESPACE_NAME_LABEL]: name } },
        },
        source: use.source,
        ref: { kind: 'Namespace', name },
        implied: true,
      });
    }
    const locators = this.locators;
    const locate: Locate = (ref, fieldPath) => {
      const loc = locators.get(objectRefKey(ref));
      if (loc === undefined) return undefined;
      return { file: loc.place.file, line: loc.place.line(loc.translate(parseFieldPath(fieldPath))) };
    };
    return {
      namespaces: this.namespaces,
      pods: this.pods,
      policies: this.policies,
      clusterPolicies: this.clusterPolicies,
      issues: this.issues,
      skipped: this.skipped,
      locate,
    };
  }
}
