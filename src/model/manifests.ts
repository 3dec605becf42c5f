// The manifest loader: texts in, typed objects + issues out. Pure (no file system): the CLI reads
// files (src/cli/files.ts) and hands their texts here. Every object is checked as the API server
// would (shape, then Kubernetes' own rules for what netaudit reads); an invalid object is skipped
// whole and the others still load. Defaulting that changes semantics is applied on copies.

import type { ManifestIssue } from '../errors.ts';
import { checkObject, NO_NAME } from './check-object.ts';
import { formatFieldPath, type PathSegment, parseFieldPath } from './field-path.ts';
import { NAMESPACE_NAME_LABEL, type Namespace, type NetworkPolicy, type Pod } from './k8s.ts';
import { groupOf, KINDS, type KindInfo } from './kinds.ts';
import { formatObjectRef, type ObjectRef, objectRefKey } from './object-ref.ts';
import type { FieldIssue } from './validate.ts';
import { readDocuments } from './yaml-documents.ts';
import { locateLine, type NodeAnchor } from './yaml-locate.ts';

export type { ObjectRef } from './object-ref.ts';
export { formatObjectRef } from './object-ref.ts';

/** Namespaces the API server creates in every cluster. */
const BUILT_IN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

export interface ManifestSource {
  readonly file: string;
  readonly text: string;
}

export interface SourcePosition {
  readonly file: string;
  /** 1-based line where the object starts. */
  readonly line: number;
  /** 0-based index of the YAML document in its file. */
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
  readonly issues: ManifestIssue[];
  /** Objects of kinds netaudit does not read (Service, ConfigMap, CRDs, ...): kind -> count. */
  readonly skipped: Record<string, number>;
  /** The file and line of a field of a loaded object (nearest existing ancestor if the field is absent). */
  readonly locate: Locate;
}

/** Where an object sits: its document's node, and its path inside the document (`items[3]` in a List). */
interface Place {
  readonly file: string;
  readonly documentIndex: number;
  readonly anchor: NodeAnchor;
  readonly base: readonly PathSegment[];
}

interface Locator {
  readonly place: Place;
  /** Maps a path on the loaded object to a path in the source object (pods made from templates). */
  readonly translate: (path: PathSegment[]) => PathSegment[];
}

interface NamespaceUse {
  readonly place: Place;
  readonly object: string;
  readonly explicit: boolean;
  readonly source: SourcePosition;
}

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Kubernetes decodes `field: null` as an unset field; so do we, before checking shapes. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isRecord(v)) return v;
  const out: Raw = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

const identity = (p: PathSegment[]): PathSegment[] => p;

export function parseManifests(sources: readonly ManifestSource[], options: LoadOptions = {}): LoadResult {
  const defaultNamespace = options.defaultNamespace ?? 'default';
  const namespaces: Loaded<Namespace>[] = [];
  const pods: Loaded<Pod>[] = [];
  const policies: Loaded<NetworkPolicy>[] = [];
  const issues: ManifestIssue[] = [];
  const skipped: Record<string, number> = {};
  const locators = new Map<string, Locator>();
  const firstSeen = new Map<string, SourcePosition>();
  const namespaceUses = new Map<string, NamespaceUse>();

  const lineOf = (place: Place, path: readonly PathSegment[]): number =>
    locateLine(place.anchor, [...place.base, ...path]);

  const report = (place: Place, object: string | undefined, fi: FieldIssue): void => {
    issues.push({
      severity: fi.severity,
      message: fi.message,
      file: place.file,
      line: lineOf(place, fi.path),
      ...(object !== undefined && { object }),
      ...(fi.path.length > 0 && { field: formatFieldPath(fi.path) }),
    });
  };

  const positionOf = (place: Place): SourcePosition => ({
    file: place.file,
    line: lineOf(place, []),
    documentIndex: place.documentIndex,
  });

  /** Records the object under its ref; false (with an error) when that ref was already loaded. */
  const claim = (ref: ObjectRef, place: Place, object: string, what = formatObjectRef(ref)): boolean => {
    const key = objectRefKey(ref);
    const first = firstSeen.get(key);
    if (first !== undefined) {
      report(place, object, {
        severity: 'error',
        path: ['metadata', 'name'],
        message: `${what} is defined twice; this one is skipped, the first (${first.file}:${first.line}) is used`,
      });
      return false;
    }
    firstSeen.set(key, positionOf(place));
    return true;
  };

  const useNamespace = (ns: string, place: Place, object: string, explicit: boolean): void => {
    if (!namespaceUses.has(ns)) namespaceUses.set(ns, { place, object, explicit, source: positionOf(place) });
  };

  const loadObject = (raw: Raw, kind: string, info: KindInfo, place: Place): void => {
    const meta = isRecord(raw.metadata) ? raw.metadata : {};
    const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : NO_NAME;
    const givenNs = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
    const namespace = info.role === 'namespace' ? undefined : (givenNs ?? defaultNamespace);
    const ref: ObjectRef = namespace === undefined ? { kind, name } : { kind, namespace, name };
    const object = formatObjectRef(ref);

    const { built, issues: found } = checkObject(dropNulls(raw), info, ref);
    for (const fi of found) report(place, object, fi);
    if (built === undefined || !claim(ref, place, object)) return;

    const source = positionOf(place);
    locators.set(objectRefKey(ref), { place, translate: identity });
    if (namespace !== undefined) useNamespace(namespace, place, object, givenNs !== undefined);
    switch (built.role) {
      case 'namespace':
        namespaces.push({ object: built.object, source, ref });
        return;
      case 'policy':
        policies.push({ object: built.object, source, ref });
        return;
      case 'pod':
        pods.push({ object: built.object, source, ref });
        return;
      case 'workload': {
        const podRef: ObjectRef = { kind: 'Pod', namespace, name: built.object.metadata.name ?? name };
        const what = `the pod ${podRef.namespace}/${podRef.name} made from ${object}`;
        if (!claim(podRef, place, object, what)) return;
        const tp = info.templatePath;
        locators.set(objectRefKey(podRef), {
          place,
          // The template's labels and spec stand for the pod's; name and namespace are the workload's.
          translate: (p) =>
            p[0] === 'spec' || (p[0] === 'metadata' && p[1] === 'labels') ? [...tp, ...p] : p,
        });
        pods.push({ object: built.object, source, ref: podRef, origin: ref });
        return;
      }
    }
  };

  const skip = (kind: string): void => {
    skipped[kind] = (skipped[kind] ?? 0) + 1;
  };

  const loadValue = (
    value: unknown,
    place: Place,
    listDefaults?: { kind: string; apiVersion: unknown },
  ): void => {
    if (!isRecord(value)) {
      report(place, undefined, {
        severity: 'error',
        path: [],
        message: `expected an object with apiVersion and kind, found ${Array.isArray(value) ? 'a list' : typeof value}`,
      });
      return;
    }
    const kind = typeof value.kind === 'string' ? value.kind : listDefaults?.kind;
    const apiVersion = value.apiVersion ?? listDefaults?.apiVersion;
    if (kind === undefined || kind === '') {
      report(place, undefined, {
        severity: 'error',
        path: ['kind'],
        message: 'kind is required; every object needs apiVersion and kind',
      });
      return;
    }
    if (kind === 'List' || (kind.endsWith('List') && 'items' in value)) {
      if (!Array.isArray(value.items)) {
        report(place, kind, {
          severity: 'error',
          path: ['items'],
          message: `${kind} needs items: a list of objects`,
        });
        return;
      }
      // Items of a typed list (PodList from the API) may omit their kind and apiVersion.
      const itemDefaults = kind === 'List' ? undefined : { kind: kind.slice(0, -'List'.length), apiVersion };
      value.items.forEach((item, i) => {
        loadValue(item, { ...place, base: [...place.base, 'items', i] }, itemDefaults);
      });
      return;
    }
    const info = KINDS.get(kind);
    if (info === undefined) {
      skip(kind);
      return;
    }
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      report(place, kind, {
        severity: 'error',
        path: ['apiVersion'],
        message: `apiVersion is required; use ${info.apiVersion} for ${kind}`,
      });
      return;
    }
    if (apiVersion !== info.apiVersion) {
      if (!info.groups.includes(groupOf(apiVersion))) {
        skip(kind); // same kind name in another API group (a CRD): not ours
        return;
      }
      report(place, kind, {
        severity: 'error',
        path: ['apiVersion'],
        message: `apiVersion "${apiVersion}" is not supported for ${kind}; use ${info.apiVersion}`,
      });
      return;
    }
    loadObject({ ...value, kind, apiVersion }, kind, info, place);
  };

  for (const { file, text } of sources) {
    const docs = readDocuments(file, text);
    issues.push(...docs.issues);
    for (const doc of docs.documents) {
      loadValue(doc.value, { file, documentIndex: doc.index, anchor: doc.anchor, base: [] });
    }
  }

  // Namespaces objects live in but no manifest defines: implied, with the one label they surely have.
  const defined = new Set(namespaces.map((n) => n.ref.name));
  for (const [name, use] of namespaceUses) {
    if (defined.has(name)) continue;
    // Every cluster has these, with only the name label unless someone added more: nothing to warn about.
    if (!BUILT_IN_NAMESPACES.has(name))
      issues.push({
        severity: 'warning',
        file: use.place.file,
        line: lineOf(use.place, use.explicit ? ['metadata', 'namespace'] : []),
        object: use.object,
        ...(use.explicit && { field: 'metadata.namespace' }),
        message: `namespace "${name}" is not defined in the input; it is implied with only the label ${NAMESPACE_NAME_LABEL}=${name}, so namespaceSelectors on other labels will not match it`,
      });
    const ref: ObjectRef = { kind: 'Namespace', name };
    namespaces.push({
      object: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { [NAMESPACE_NAME_LABEL]: name } },
      },
      source: use.source,
      ref,
      implied: true,
    });
  }

  const locate: Locate = (ref, fieldPath) => {
    const loc = locators.get(objectRefKey(ref));
    if (loc === undefined) return undefined;
    return { file: loc.place.file, line: lineOf(loc.place, loc.translate(parseFieldPath(fieldPath))) };
  };

  return { namespaces, pods, policies, issues, skipped, locate };
}
