// `netaudit analyze` arguments; the implementation (YAML, validation, engine) loads only when it runs,
// so that the probe agent, which shares this CLI, starts fast.
import type { Argv } from 'yargs';
import { PROFILE_NAMES } from '../policy/profiles.ts';
import type { CliCommand } from './command.ts';

export const analyzeCommand: CliCommand = {
  command: 'analyze',
  describe: 'Expected reachability of manifests (files, folders, multi-document YAML, JSON, List), offline',
  builder: (y: Argv) =>
    y
      .option('file', {
        alias: 'f',
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'File or folder (recursive); - for stdin',
      })
      .option('port', {
        type: 'string',
        array: true,
        default: [],
        describe:
          "Port to evaluate, e.g. 80/TCP (repeatable); default: each destination's container ports plus the numeric ports rules name",
      })
      .option('external', {
        type: 'string',
        array: true,
        default: [],
        describe: 'External destination IP (repeatable)',
      })
      .option('profile', {
        type: 'string',
        choices: PROFILE_NAMES,
        default: 'generic',
        describe: 'CNI profile for what the spec leaves open',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        choices: ['table', 'json', 'markdown', 'sarif'],
        default: 'table',
      })
      .option('classes', {
        type: 'boolean',
        default: false,
        describe: 'Report per equivalence class instead of per pod',
      })
      .option('from', {
        type: 'string',
        describe: 'Only flows from this pod (NS/POD): everything it may reach, with the rules',
      })
      .option('to', {
        type: 'string',
        describe: 'Only flows to this pod (NS/POD): everything that may reach it, with the rules',
      })
      .option('namespace', {
        alias: 'n',
        type: 'string',
        array: true,
        describe: 'Only pods of this namespace (repeatable): the matrix between them',
      })
      .option('max-verdicts', {
        type: 'number',
        default: 1_000_000,
        describe: 'Largest listing -o json prints; past it the run exits 2 and says how to narrow it',
      })
      .option('base', {
        type: 'string',
        array: true,
        describe:
          'Manifests before the change (files or folders): report the flows the change opens and closes instead of the matrix',
      })
      .option('fail-on', {
        type: 'string',
        choices: ['opened', 'closed', 'any'],
        describe: 'With --base: exit 1 when the change opens (closes, or either) any flow',
      })
      .option('lint', {
        type: 'boolean',
        default: false,
        describe:
          'Policy lint (rule ids NA001-NA008, file and line) instead of the matrix; -o sarif implies it',
      })
      .option('fail-on-lint', {
        type: 'string',
        choices: ['error', 'warning', 'note'],
        describe: 'With --lint: exit 1 when a finding has this severity or a higher one',
      })
      .option('explain', {
        type: 'string',
        array: true,
        nargs: 3,
        describe: 'Explain one flow: FROM TO PORT/PROTO (FROM ns/pod, TO ns/pod or IP)',
      }),
  run: async (args) => (await import('./analyze.ts')).runAnalyzeCli(args),
};
