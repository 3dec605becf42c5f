// Durations on the command line, as Go and kubectl write them: `500ms`, `1s`, `2m`, `1h`, `1m30s`, `1.5s`.
import { err, ok, type Result } from '../core/result.ts';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART_RE = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;

/** Milliseconds (rounded), or a message. A bare number is refused: `1` could mean 1 s or 1 ms. */
export function parseDuration(text: string): Result<number, string> {
  const s = text.trim();
  if (s === '') return err('empty duration');
  if (/^[0-9.]+$/.test(s)) return err(`'${s}' has no unit: write e.g. ${s}s or ${s}ms`);
  let total = 0;
  PART_RE.lastIndex = 0;
  while (PART_RE.lastIndex < s.length) {
    const m = PART_RE.exec(s);
    if (!m) return err(`'${s}' is not a duration like 500ms, 1s, 2m or 1m30s`);
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? ok(Math.round(total)) : err(`'${s}' is out of range`);
}
