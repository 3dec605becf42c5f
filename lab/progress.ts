/** Progress lines of lab commands on stderr, timed from the command's start (quiet in CI and pipes). */

const quiet = process.env.CI === 'true' || process.env.CI === '1' || !process.stderr.isTTY;
let t0 = Date.now();
export function say(msg: string): void {
  if (!quiet) process.stderr.write(`\x1b[2m[lab ${((Date.now() - t0) / 1000).toFixed(1)}s]\x1b[0m ${msg}\n`);
}

/** Restarts the clock: each command (`up`, `down`) times its own steps. */
export function restartClock(): void {
  t0 = Date.now();
}
