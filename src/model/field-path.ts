// Field paths as people read them: `spec.ingress[0].from[1].ipBlock.cidr`. Keys that are not plain
// identifiers (label keys such as `app.kubernetes.io/name`) are written `labels["app.kubernetes.io/name"]`
// so that the path can be read back unambiguously.

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatFieldPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_KEY.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Reads a path written by formatFieldPath (or by hand); malformed tails are dropped, never thrown. */
export function parseFieldPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/gy;
  let m: RegExpExecArray | null = re.exec(path);
  while (m !== null) {
    if (m[1] !== undefined) segments.push(Number(m[1]));
    else if (m[2] !== undefined) segments.push(readQuoted(m[2]));
    else if (m[3] !== undefined) segments.push(m[3]);
    m = re.exec(path);
  }
  return segments;
}

function readQuoted(text: string): string {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' ? v : text;
  } catch {
    return text.slice(1, -1);
  }
}
