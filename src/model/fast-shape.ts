// A fast path for the shape check of the kinds read most (Pod, Namespace, NetworkPolicy): plain
// functions that accept a value only when the strict schema of manifest-schema.ts certainly accepts
// it, and then give exactly what that schema gives (keys in the schema's order, absent optional keys
// absent). Anything else, an unknown key, a wrong type, a number that is not a safe integer, a key
// that JavaScript treats specially, gives NO, and the schema itself reads the value as before, so
// every message still comes from one place. At 130k pods the schema's generic walk was a tenth of
// the read; these functions do the same for well-formed objects in a fraction of it.

/** The value was not certainly accepted: let the schema decide. */
export const NO: unique symbol = Symbol('no');
type Out<T> = T | typeof NO;
type Read<T> = (v: unknown) => Out<T>;

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const string: Read<string> = (v) => (typeof v === 'string' ? v : NO);
const boolean: Read<boolean> = (v) => (typeof v === 'boolean' ? v : NO);
const int: Read<number> = (v) => (Number.isSafeInteger(v) ? (v as number) : NO);
const intOrString: Read<number | string> = (v) => (typeof v === 'string' ? v : int(v));
const unknownValue: Read<unknown> = (v) => v;

function array<T>(item: Read<T>): Read<T[]> {
  return (v) => {
    if (!Array.isArray(v)) return NO;
    const out: T[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = item(v[i]);
      if (x === NO) return NO;
      out[i] = x;
    }
    return out;
  };
}

/** A map of strings to strings (labels). */
const labels: Read<Record<string, string>> = (v) => {
  if (!isPlain(v)) return NO;
  const out: Record<string, string> = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k) || k === '__proto__') return NO;
    const x = v[k];
    if (typeof x !== 'string') return NO;
    out[k] = x;
  }
  return out;
};

type Fields = Readonly<Record<string, { readonly read: Read<unknown>; readonly optional: boolean }>>;

/**
 * An object of these fields, in this order. `strict`: a key not listed fails (the strict schema
 * reports it); otherwise it is dropped, as the stripping schema drops it.
 */
function object<T>(fields: Fields, strict: boolean): Read<T> {
  const keys = Object.keys(fields);
  const known = new Set(keys);
  return (v) => {
    if (!isPlain(v)) return NO;
    for (const k in v) if (!Object.hasOwn(v, k) || k === '__proto__' || (strict && !known.has(k))) return NO;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const f = fields[k] as Fields[string];
      if (!Object.hasOwn(v, k)) {
        if (f.optional) continue;
        return NO;
      }
      const x = v[k];
      if (x === undefined) return NO;
      const r = f.read(x);
      if (r === NO) return NO;
      out[k] = r;
    }
    return out as T;
  };
}

const req = (read: Read<unknown>) => ({ read, optional: false });
const opt = (read: Read<unknown>) => ({ read, optional: true });

const metadata = object(
  {
    name: opt(string),
    namespace: opt(string),
    labels: opt(labels),
    uid: opt(string),
    resourceVersion: opt(string),
  },
  false,
);
const selector = object(
  {
    matchLabels: opt(labels),
    matchExpressions: opt(
      array(object({ key: req(string), operator: req(string), values: opt(array(string)) }, true)),
    ),
  },
  true,
);
const policyPort = object({ protocol: opt(string), port: opt(intOrString), endPort: opt(int) }, true);
const peer = object(
  {
    podSelector: opt(selector),
    namespaceSelector: opt(selector),
    ipBlock: opt(object({ cidr: req(string), except: opt(array(string)) }, true)),
  },
  true,
);

/** The strict NetworkPolicy schema's reading, for well-formed policies. */
export const fastNetworkPolicy: Read<unknown> = object(
  {
    apiVersion: req(string),
    kind: req(string),
    metadata: req(metadata),
    spec: opt(
      object(
        {
          podSelector: opt(selector),
          policyTypes: opt(array(string)),
          ingress: opt(array(object({ from: opt(array(peer)), ports: opt(array(policyPort)) }, true))),
          egress: opt(array(object({ to: opt(array(peer)), ports: opt(array(policyPort)) }, true))),
        },
        true,
      ),
    ),
    status: opt(unknownValue),
  },
  true,
);

const container = object(
  {
    name: req(string),
    image: opt(string),
    ports: opt(
      array(
        object(
          {
            name: opt(string),
            containerPort: req(int),
            protocol: opt(string),
            hostPort: opt(int),
            hostIP: opt(string),
          },
          true,
        ),
      ),
    ),
  },
  false,
);

/** The Pod schema's reading (strict only in container ports), for well-formed pods. */
export const fastPod: Read<unknown> = object(
  {
    apiVersion: req(string),
    kind: req(string),
    metadata: req(metadata),
    spec: req(
      object(
        {
          containers: req(array(container)),
          initContainers: opt(array(container)),
          hostNetwork: opt(boolean),
          nodeName: opt(string),
        },
        false,
      ),
    ),
    status: opt(
      object(
        {
          phase: opt(string),
          podIP: opt(string),
          podIPs: opt(array(object({ ip: req(string) }, false))),
          hostIP: opt(string),
        },
        false,
      ),
    ),
  },
  false,
);

/** The Namespace schema's reading. */
export const fastNamespace: Read<unknown> = object(
  { apiVersion: req(string), kind: req(string), metadata: req(metadata) },
  false,
);
