import type { Argv } from 'yargs';

/** One CLI command: an args builder and run(args) -> exit code. Errors become exit code 2 in main. */
export interface CliCommand {
  readonly command: string;
  readonly describe: string;
  // biome-ignore lint/suspicious/noExplicitAny: yargs builders are typed per command; the registry is heterogeneous.
  readonly builder: (y: Argv) => Argv<any>;
  readonly run: (args: Record<string, unknown>) => Promise<number>;
}
