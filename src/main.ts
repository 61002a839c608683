// Composition root: config -> database -> roles; graceful shutdown on SIGINT/SIGTERM.
import './heap-growth.ts';
import { parseArgs } from 'node:util';
import { ALL_ROLES, ConfigError, loadConfig, type Config, type RoleName } from './config.ts';
import { createLogger } from './log.ts';
import type { Runtime } from './runtime.ts';
import { openAppRuntime } from './app-runtime.ts';
import { ROLE_STARTERS, type RoleEnvironment, type RoleHandle } from './roles.ts';
import { StartupError } from './shared/startup-errors.ts';

export interface RunningApp {
  runtime: Runtime;
  roles: { name: RoleName; handle: RoleHandle }[];
  stop(): Promise<void>;
}

export async function startApp(config: Config): Promise<RunningApp> {
  const log = createLogger({ level: config.logLevel });
  const runtime = await openAppRuntime(config, { log, shareEmbedded: true });
  log.info({ code: 'DATABASE_READY', database: runtime.databaseKind }, `database ready (${runtime.databaseKind})`);
  const started: { name: RoleName; handle: RoleHandle }[] = [];
  let starting = true;
  const env: RoleEnvironment = {
    readiness: () => ({ starting, roles: started.map(({ name, handle }) => ({ name, ready: handle.ready ? handle.ready() : true })) }),
  };
  const stop = async () => {
    for (const { name, handle } of [...started].reverse()) {
      try {
        await handle.stop();
        log.info({ code: 'ROLE_STOPPED', role: name }, `${name} stopped`);
      } catch (err) {
        log.error({ err, code: 'ROLE_STOP_FAILED', role: name }, `${name} did not stop cleanly`);
      }
    }
    await runtime.close();
  };
  try {
    for (const name of config.roles) {
      const load = ROLE_STARTERS[name];
      if (!load) {
        log.warn({ code: 'ROLE_UNAVAILABLE', role: name }, `role ${name} is not available in this build`);
        continue;
      }
      const handle = await (await load())(runtime, env);
      if (!handle) continue; // e.g. Slack without tokens: the role explains itself in its own log line
      started.push({ name, handle });
      log.info({ code: 'ROLE_STARTED', role: name }, handle.description);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  starting = false;
  return { runtime, roles: started, stop };
}

function rolesFromArgs(argv: string[]): RoleName[] | undefined {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', multiple: true } }, strict: true });
  if (!values.role) return undefined;
  const names = values.role
    .flatMap((r) => r.split(','))
    .map((r) => r.trim())
    .filter(Boolean);
  if (names.includes('all')) return [...ALL_ROLES];
  const bad = names.filter((n) => !(ALL_ROLES as readonly string[]).includes(n));
  if (bad.length) throw new ConfigError([`--role: unknown role ${bad.join(', ')} (known: all, ${ALL_ROLES.join(', ')})`]);
  return names as RoleName[];
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
    const roles = rolesFromArgs(process.argv.slice(2));
    if (roles) config = { ...config, roles };
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(78);
  }
  const app = await startApp(config);
  const log = app.runtime.log;
  log.info({ code: 'STARTED', roles: app.roles.map((r) => r.name) }, `smtpdesk running: ${app.roles.map((r) => r.name).join(', ') || 'no roles'}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ code: 'SHUTDOWN_FORCED', signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ code: 'SHUTDOWN', signal }, `${signal}: shutting down`);
    app.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err, code: 'SHUTDOWN_FAILED' }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

const isMain = process.argv[1] !== undefined && /src[\\/]main\.ts$/.test(process.argv[1]);
if (isMain) {
  main().catch((err) => {
    // An operator's problem (a port in use, a bad token) is one line; anything else keeps its stack for a bug report.
    const known = err instanceof StartupError || err instanceof ConfigError;
    process.stderr.write(`smtpdesk failed to start: ${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
