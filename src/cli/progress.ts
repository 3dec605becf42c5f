// Progress on a terminal for work that takes over a second: an ora spinner on stderr naming the
// phase. Quiet when not interactive (CI, pipes) and for work that ends within the second.
import type { Ora } from 'ora';

export interface Progress {
  phase(text: string): void;
  stop(): void;
}

const QUIET: Progress = { phase: () => undefined, stop: () => undefined };

export function startProgress(interactive: boolean, _stderr: (s: string) => void, delayMs = 1000): Progress {
  if (!interactive) return QUIET;
  let text = '';
  let spinner: Ora | undefined;
  let stopped = false;
  const started = Date.now();
  const timer = setTimeout(() => {
    void import('ora').then(({ default: ora }) => {
      if (stopped) return;
      spinner = ora({ text: label(), stream: process.stderr }).start();
    });
  }, delayMs);
  timer.unref();
  const label = () => `${text} (${Math.round((Date.now() - started) / 1000)} s)`;
  return {
    phase(t) {
      text = t;
      if (spinner) spinner.text = label();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      spinner?.stop();
      spinner = undefined;
    },
  };
}

/** Collects many small writes into large ones: a million verdict lines would be a million syscalls. */
export function bufferedWriter(
  write: (s: string) => void,
  limit = 1 << 16,
): { write(s: string): void; flush(): void } {
  let parts: string[] = [];
  let size = 0;
  return {
    write(s) {
      parts.push(s);
      size += s.length;
      if (size >= limit) {
        write(parts.join(''));
        parts = [];
        size = 0;
      }
    },
    flush() {
      if (parts.length > 0) write(parts.join(''));
      parts = [];
      size = 0;
    },
  };
}
