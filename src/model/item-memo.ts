// List items already read, by their exact text. A diff reads two inputs that mostly hold the same
// objects; an item whose text was read before is neither parsed nor checked again, and both sides
// share the object it built. Only items whose reading cannot depend on anything around them are
// kept: they name their own kind and apiVersion, hold no list, and gave one clean object (or a
// skip) with no issue, whose place would belong to the other file.

import type { Place, Staged } from './manifest-loader.ts';

/** What the memo holds of one item: its outcome, without the place it was read at. */
type Outcome = Extract<Staged, { type: 'object' } | { type: 'skip' }>;

/** Up to this many characters of item text are held (the texts are the keys). */
const DEFAULT_MAX_CHARS = 256 * 1024 * 1024;

export class ItemMemo {
  private readonly outcomes = new Map<string, Outcome>();
  private chars = 0;
  private readonly maxChars: number;

  constructor(maxChars = DEFAULT_MAX_CHARS) {
    this.maxChars = maxChars;
  }

  get size(): number {
    return this.outcomes.size;
  }

  /** What reading `text` gave before, placed at `keep`; undefined when it was not kept. */
  recall(text: string, keep: Place): Staged[] | undefined {
    const o = this.outcomes.get(text);
    if (o === undefined) return undefined;
    return [o.type === 'object' ? { ...o, place: keep } : o];
  }

  /** Keeps what reading `text` (parsed as `value`) gave, when it may be reused elsewhere. */
  remember(text: string, value: unknown, staged: readonly Staged[]): void {
    const only = staged.length === 1 ? staged[0] : undefined;
    if (only === undefined || only.type === 'issue') return;
    if (this.chars + text.length > this.maxChars || !standsAlone(value)) return;
    this.outcomes.set(text, only);
    this.chars += text.length;
  }
}

/** An object that names its own kind and apiVersion: no List around it changes how it is read. */
function standsAlone(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.kind === 'string' && typeof v.apiVersion === 'string' && !('items' in v);
}
