#!/usr/bin/env node
// The netaudit command line: thin commands that parse arguments and call run(args) -> exit code.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isNetauditError, toError } from '../errors.ts';
import { commands } from './commands.ts';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_FAILURE = 2;

async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const parser = yargs(argv)
    .scriptName('netaudit')
    .strict()
    .strictCommands()
    .demandCommand(1, 'Name a command: analyze, audit, controller or agent.')
    .recommendCommands()
    .help()
    .wrap(Math.min(110, process.stdout.columns || 110))
    // yargs exits 1 on usage errors; our contract reserves 1 for findings.
    .fail((msg, err, y) => {
      if (err) throw err;
      void y;
      process.stderr.write(`netaudit: ${msg}\nRun 'netaudit --help' for usage.\n`);
      process.exit(EXIT_FAILURE);
    });
  for (const command of commands) {
    parser.command(command.command, command.describe, command.builder, async (args) => {
      exitCode = await command.run(args);
    });
  }
  await parser.parseAsync();
  return exitCode;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = toError(e);
    process.stderr.write(`netaudit: ${isNetauditError(err) ? err.message : (err.stack ?? err.message)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
