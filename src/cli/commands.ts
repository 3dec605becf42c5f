import { agentCommand } from './agent.ts';
import { analyzeCommand } from './analyze.ts';
import { auditCommand } from './audit.ts';
import type { CliCommand } from './command.ts';

export const commands: CliCommand[] = [analyzeCommand, auditCommand, agentCommand];
