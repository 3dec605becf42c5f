// How an object is named in messages and looked up: `NetworkPolicy production/default-deny-all`.

export interface ObjectRef {
  readonly kind: string;
  /** Absent for cluster-scoped kinds (Namespace). */
  readonly namespace?: string | undefined;
  readonly name: string;
}

export function formatObjectRef(ref: ObjectRef): string {
  return ref.namespace === undefined ? `${ref.kind} ${ref.name}` : `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** A key that is equal for equal refs (the printed form is unambiguous: names cannot contain spaces). */
export function objectRefKey(ref: ObjectRef): string {
  return formatObjectRef(ref);
}
