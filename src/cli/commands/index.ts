// Every CLI command. A new adapter feature adds its file here.
import type { CliCommand } from '../command.ts';
import { accountCommands } from './accounts.ts';
import { bounceCommands } from './bounces.ts';
import { domainCommands } from './domains.ts';
import { suppressionCommands } from './suppressions.ts';
import { jobCommands } from './jobs.ts';
import { queueCommands } from './queue.ts';
import { queueFindCommands } from './queue-find.ts';
import { usageCommands } from './usage.ts';
import { workspaceCommands } from './workspace.ts';

export const COMMANDS: CliCommand[] = [
  ...workspaceCommands,
  ...accountCommands,
  ...usageCommands,
  ...jobCommands,
  ...queueCommands,
  ...queueFindCommands,
  ...domainCommands,
  ...suppressionCommands,
  ...bounceCommands,
];
