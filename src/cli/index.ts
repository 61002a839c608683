// smtpdesk command line: everything an admin can do in Slack, for bootstrap and for when Slack is down.
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import type { Runtime } from '../runtime.ts';
import { openAppRuntime, openJobsConsole } from '../app-runtime.ts';
import { DomainError, resolveWorkspace, type Actor, type Workspace } from '../domain/index.ts';
import { UsageError, type CliCommand, type CliContext } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { describeFailure, EXIT } from './errors.ts';
import { jsonText, terminalText } from './terminal-text.ts';

const ALIASES: Record<string, string> = { account: 'accounts', workspaces: 'workspace', job: 'jobs', domain: 'domains', suppression: 'suppressions' };
const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  workspace: { type: 'string', short: 'w' },
  help: { type: 'boolean', short: 'h' },
} as const;

function findCommand(words: string[]): { command: CliCommand; rest: string[] } | undefined {
  const normalized = words.map((w, i) => (i === 0 ? (ALIASES[w] ?? w) : w));
  let best: CliCommand | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((p, i) => normalized[i] === p) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { command: best, rest: words.slice(best.path.length) } : undefined;
}

export function usageOf(c: CliCommand): string {
  const lines = [`usage: smtpdesk ${c.path.join(' ')}${c.args ? ` ${c.args}` : ''} [--workspace W] [--json]`, `  ${c.summary}`];
  for (const o of c.optionHelp ?? []) lines.push(`  ${o}`);
  return lines.join('\n');
}

function commandLines(commands: readonly CliCommand[]): string[] {
  const head = (c: CliCommand) => `${c.path.join(' ')}${c.args ? ` ${c.args}` : ''}`;
  const w = Math.max(...commands.map((c) => head(c).length));
  return commands.map((c) => `  ${head(c).padEnd(w)}  ${c.summary}`);
}

/** The version in package.json, for `smtpdesk --version` and bug reports. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function helpText(): string {
  return [
    'smtpdesk — SMTP accounts for your team, from Slack or from here.',
    '',
    'usage: smtpdesk <command> [args] [--workspace NAME] [--json]',
    '',
    ...commandLines(COMMANDS),
    '',
    'Global options:',
    '  --workspace, -w NAME   the workspace (or SMTPDESK_WORKSPACE; optional when there is only one)',
    '  --json                 machine-readable output',
    '  --help, -h             help for a command',
    '  --version              the version of smtpdesk',
    '',
    'The database is MONGODB_URI, or the embedded one under ./data (shared with a running `npm start`).',
  ].join('\n');
}

export async function runCli(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
  },
): Promise<number> {
  // A first, lenient pass with every option any command knows, so option values are not taken for words.
  const allOptions = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})) as ParseArgsConfig['options'];
  let words: string[];
  try {
    words = parseArgs({ args: argv, options: allOptions, allowPositionals: true, strict: false }).positionals;
  } catch {
    words = argv.filter((a) => !a.startsWith('-'));
  }
  const wantsJson = argv.includes('--json');
  if (words.length === 0 && argv.includes('--version')) {
    io.out(`smtpdesk ${version()}`);
    return EXIT.ok;
  }
  if (words.length === 0 || words[0] === 'help') {
    io.out(helpText());
    return words.length === 0 && !argv.includes('--help') && !argv.includes('-h') ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(words);
  if (!found) {
    // A group without its subcommand ("smtpdesk accounts"): list what the group has.
    const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === (ALIASES[words[0]!] ?? words[0]));
    if (group.length && words.length === 1) {
      io.err(`smtpdesk ${group[0]!.path[0]}: which one?\n${commandLines(group).join('\n')}`);
      return EXIT.usage;
    }
    io.err(`smtpdesk: unknown command "${words.join(' ')}". Run smtpdesk --help for the list.`);
    return EXIT.usage;
  }
  const { command } = found;
  let runtime: Runtime | undefined;
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...(command.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      io.out(usageOf(command));
      return EXIT.ok;
    }
    const positionals = parsed.positionals.slice(command.path.length);
    if (positionals.length > (command.args ? command.args.split(' ').length : 0)) {
      throw new UsageError(`unexpected argument "${positionals.at(-1)}" (quote names that contain spaces)`);
    }
    const config = loadConfig();
    const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
    const actor: Actor = { source: 'cli', id: safeUser(), name: `${safeUser()} (cli)`, roles: ['admin'] };
    const workspaceRef = parsed.values.workspace ?? process.env.SMTPDESK_WORKSPACE;
    let workspace: Workspace | undefined;
    const cli: CliContext = {
      actor,
      json: parsed.values.json === true,
      async runtime() {
        // A command runs on a live, often busy, database: the servers build the indexes, it checks they were.
        runtime ??= await openAppRuntime(config, { log, quiet: true, ensureIndexes: 'when-changed' });
        return runtime;
      },
      async domain() {
        return (await this.runtime()).ctx;
      },
      async workspace() {
        if (workspace) return workspace;
        const { ctx } = await this.runtime();
        if (workspaceRef) return (workspace = await resolveWorkspace(ctx, workspaceRef));
        const all = await ctx.workspaces.list();
        if (all.length === 1) return (workspace = all[0]!);
        throw new DomainError(
          'WORKSPACE.NOT_FOUND',
          all.length === 0
            ? 'No workspace yet. Create one with: smtpdesk workspace create NAME'
            : `Several workspaces exist (${all.map((w) => w.name).join(', ')}): choose one with --workspace NAME.`,
        );
      },
      async jobs() {
        return openJobsConsole(await this.runtime(), `cli@${hostname()}:${process.pid}`);
      },
      print: (s) => io.out(terminalText(s)),
    };
    const result = await command.run(cli, positionals, parsed.values);
    if (cli.json) io.out(jsonText(result ?? { ok: true }));
    return EXIT.ok;
  } catch (err) {
    const f = describeFailure(err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? new UsageError(err.message) : err);
    if (wantsJson) io.out(jsonText({ error: { code: f.code, message: f.message } }));
    io.err(`smtpdesk: ${terminalText(f.message)}`);
    if (f.exitCode === EXIT.usage && !(err instanceof UsageError && err.message.includes('\n'))) io.err(usageOf(command));
    return f.exitCode;
  } finally {
    await runtime?.close();
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}

const isMain = process.argv[1] !== undefined && /cli[\\/]index\.ts$/.test(process.argv[1]);
if (isMain) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`smtpdesk: ${String(err)}\n`);
      process.exit(EXIT.internal);
    },
  );
}
