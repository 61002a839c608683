// Shared start-up for the server (main.ts) and the CLI: config -> logger -> database -> domain context.
// Adapter-free: what subscribes to the events (Slack alerts, the webhook outbox) is wired by the composition
// root (src/app-runtime.ts) through `attach`.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { connectDatabase, type ConnectOptions, type Database } from './store/connection.ts';
import { createDomainContext } from './store/index.ts';
import { createQueue, type Queue } from './store/queue/index.ts';
import { createLedger, type Ledger } from './store/ledger/index.ts';
import { hostname } from 'node:os';
import { startEmbeddedDatabase } from './store/embedded/index.ts';
import { createSecretBox, EventBus, type DomainContext } from './domain/index.ts';
import { createMetrics, databaseCommandCounter, writeStatsOnSignal, type Metrics } from './metrics.ts';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Database;
  ctx: DomainContext;
  /** The outbound queue, one per process: the relay stores into it, a worker of the same process hears of it. */
  queue: Queue;
  /** The message ledger, one per process: the relay's commits, the worker's finishes, one recovery loop. */
  ledger: Ledger;
  events: EventBus;
  metrics: Metrics;
  /** Which database serves us, for the start-up line. */
  databaseKind: 'external' | 'mongod' | 'ferretdb' | 'shared-embedded';
  /** Waits (bounded) for alert posts still in flight; close() does it too. */
  drainAlerts(): Promise<void>;
  /** Something the composition root hung on the events: drained by drainAlerts() and close(). */
  attach(sink: AttachedSink): void;
  close(): Promise<void>;
}

/** An event subscriber with work in flight (e.g. Slack posts) that must finish before the process ends. */
export interface AttachedSink {
  drain(): Promise<void>;
}

export async function openRuntime(
  config: Config,
  opts: { log?: Logger; shareEmbedded?: boolean; quiet?: boolean; ensureIndexes?: ConnectOptions['ensureIndexes'] } = {},
): Promise<Runtime> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const { uri, kind, stop } = await resolveDatabase(config, log, opts);
  // Before the connection, so that smtpdesk_db_commands_total counts every command this process sends
  // (SMTPDESK_DB_COMMAND_METRICS=false turns the driver's command monitoring off; see docs/performance.md).
  const metrics = createMetrics();
  const countCommands = !/^(0|false|no|off)$/i.test(process.env.SMTPDESK_DB_COMMAND_METRICS ?? '');
  let db: Database;
  try {
    db = await connectDatabase(uri, {
      operationTimeoutMs: config.database.timeoutMs,
      ...(opts.ensureIndexes !== undefined ? { ensureIndexes: opts.ensureIndexes } : {}),
      ...(countCommands ? { onCommand: databaseCommandCounter(metrics) } : {}),
      monitor: {
        onStuck: (runningMs) => log.warn({ code: 'DATABASE_MONITOR_STUCK', runningMs }, "the driver's server monitor is stuck: reopening the database client"),
        onReopened: () => log.info({ code: 'DATABASE_REOPENED' }, 'database client reopened'),
        onError: (err) => log.error({ err, code: 'DATABASE_REOPEN_FAILED' }, 'could not reopen the database client; trying again'),
      },
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // For harnesses (docs/performance.md): the counters as JSON in this file, rewritten on SIGUSR2.
  const statsFile = process.env.SMTPDESK_STATS_FILE;
  const stopStats = statsFile
    ? writeStatsOnSignal(metrics, statsFile, (err) => log.warn({ err, code: 'STATS_FILE_FAILED', path: statsFile }, 'could not write the stats file'))
    : undefined;
  const events = new EventBus((err, event) => log.error({ err, code: 'EVENT_SINK_FAILED', event: event.type }, 'event subscriber failed'));
  const queue = createQueue(db.models);
  const ledger = createLedger(db.models, queue, { owner: `${hostname()}/${process.pid}`, leaseMs: config.relay.batchStaleMs });
  const ctx = createDomainContext(db, {
    bcryptCost: config.accounts.bcryptCost,
    idleAfterDays: config.jobs.idleAfterDays,
    events,
    queue,
    ...(config.secretKey ? { secrets: createSecretBox(config.secretKey) } : {}),
  });
  const attached: AttachedSink[] = [];
  const drain = () => Promise.all(attached.map((a) => a.drain())).then(() => undefined);
  return {
    config,
    log,
    db,
    ctx,
    queue,
    ledger,
    events,
    metrics,
    databaseKind: kind,
    async drainAlerts() {
      await drain();
    },
    attach(sink) {
      attached.push(sink);
    },
    async close() {
      stopStats?.();
      await drain();
      await ledger.close();
      await db.close().catch(() => undefined);
      await stop();
    },
  };
}

interface ResolvedDatabase {
  uri: string;
  kind: Runtime['databaseKind'];
  stop: () => Promise<void>;
}

/**
 * MONGODB_URI when set. Otherwise the embedded database under the data dir: when a running smtpdesk
 * already serves it (its address is in <dataDir>/embedded.json), share it; else start one.
 */
async function resolveDatabase(config: Config, log: Logger, opts: { shareEmbedded?: boolean; quiet?: boolean }): Promise<ResolvedDatabase> {
  if (config.database.uri) return { uri: config.database.uri, kind: 'external', stop: async () => {} };

  const dataDir = resolve(config.database.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const marker = join(dataDir, 'embedded.json');
  const running = readMarker(marker);
  if (running && isAlive(running.pid) && running.pid !== process.pid) {
    return { uri: running.uri, kind: 'shared-embedded', stop: async () => {} };
  }
  const embedded = await startEmbeddedDatabase({
    dataDir,
    log: (msg) => (opts.quiet ? log.debug({ component: 'database' }, msg) : log.info({ component: 'database' }, msg)),
  });
  if (opts.shareEmbedded) writeFileSync(marker, JSON.stringify({ uri: embedded.uri, pid: process.pid, kind: embedded.kind }));
  return {
    uri: embedded.uri,
    kind: embedded.kind,
    async stop() {
      if (opts.shareEmbedded && readMarker(marker)?.pid === process.pid) rmSync(marker, { force: true });
      await embedded.stop();
    },
  };
}

function readMarker(path: string): { uri: string; pid: number } | null {
  if (!existsSync(path)) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { uri?: unknown; pid?: unknown };
    return typeof v.uri === 'string' && typeof v.pid === 'number' ? { uri: v.uri, pid: v.pid } : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
