// A duration flag (`--timeout 3s`) in milliseconds, or a usage error naming the flag.
import { UsageError } from '../errors.ts';
import { parseDuration } from '../probe/duration.ts';

export function durationFlag(flag: string, text: string): number {
  const d = parseDuration(text);
  if (!d.ok) throw new UsageError(`--${flag} ${text}: ${d.error}`);
  return d.value;
}
