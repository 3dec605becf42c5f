/** Host or netns iptables rules the lab owns, found by their `nalab-` comment. */
import { inNetns, run, tryRun } from './sh.ts';

export async function ensureIptablesRule(table: string, chain: string, rule: string[]): Promise<void> {
  if (await tryRun('iptables', ['-w', '-t', table, '-C', chain, ...rule])) return;
  await run('iptables', ['-w', '-t', table, '-I', chain, '1', ...rule]);
}

export async function removeCommentedRules(re: RegExp, netns?: string): Promise<void> {
  const exec = (cmd: string, args: string[]) =>
    netns ? inNetns(netns, cmd, args, { check: false }) : run(cmd, args, { check: false });
  const dump = (await exec('iptables-save', [])).stdout;
  let table = 'filter';
  for (const line of dump.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith('-A ') && re.test(line)) {
      const args = splitRule(line.slice(3));
      await exec('iptables', ['-w', '-t', table, '-D', ...args]);
    }
  }
}

/** Splits an iptables-save rule line into argv (handles double-quoted comments). */
function splitRule(line: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    args.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : (m[2] ?? ''));
  return args;
}
