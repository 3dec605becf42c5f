import { agentCommand } from './agent.ts';
import { analyzeCommand } from './analyze-command.ts';
import { auditCommand } from './audit-command.ts';
import type { CliCommand } from './command.ts';
import { controllerCommand } from './controller-command.ts';

export const commands: CliCommand[] = [analyzeCommand, auditCommand, controllerCommand, agentCommand];
