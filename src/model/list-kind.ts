// Lists: `kind: List` (kubectl's) and typed lists (`PodList` from the API), whose items may omit the
// kind and apiVersion the list's own kind implies.

export interface ListDefaults {
  readonly kind: string;
  readonly apiVersion: unknown;
}

/** Whether a document of this kind with an `items` field is a list of objects. */
export function isListKind(kind: string, hasItems: boolean): boolean {
  return kind === 'List' || (kind.endsWith('List') && hasItems);
}

/** Defaults the items of a typed list take for the kind and apiVersion they omit. */
export function itemDefaults(kind: string, apiVersion: unknown): ListDefaults | undefined {
  return kind === 'List' ? undefined : { kind: kind.slice(0, -'List'.length), apiVersion };
}
