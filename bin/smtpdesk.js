#!/usr/bin/env node
// The `smtpdesk` command: runs the TypeScript CLI through tsx (a runtime dependency), no build step.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const here = dirname(fileURLToPath(import.meta.url));
const { runCli } = await import(join(here, '..', 'src', 'cli', 'index.ts'));
process.exitCode = await runCli(process.argv.slice(2));
