// One mongoose connection per process (or per test file), created by the composition root and passed
// down: no module-level database singleton.
import mongoose, { type Connection } from 'mongoose';
import { ensureIndexes, ensureIndexesWhenChanged } from './indexes.ts';
import { heartbeatBoundMs, watchMonitor, type MonitorWatchdogOptions } from './monitor-watchdog.ts';
import { registerModels, type Models } from './models/index.ts';

export interface Database {
  connection: Connection;
  models: Models;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Server selection timeout: how long an operation waits for an unreachable database. */
  serverSelectionTimeoutMS?: number;
  appName?: string;
  /**
   * The driver's bound on every database call (socketTimeoutMS): a call whose connection hears nothing for
   * this long (a frozen link, a stuck server) fails with a timeout error and the connection is closed, instead
   * of holding its caller. Callers with a tighter budget (the relay's commit, RELAY_STORE_TIMEOUT_MS) pass
   * their own per call (timeoutMS). Not the client-wide timeoutMS: measured under bench:compare, setting it
   * on every operation cost about a third of the accepted rate on FerretDB. DATABASE_TIMEOUT_MS (30 s).
   */
  operationTimeoutMs?: number;
  /**
   * Build the declared indexes at start: true (default, servers), 'when-changed' (the CLI: only when their
   * definitions differ from what was last built, see indexes.ts), or false.
   */
  ensureIndexes?: boolean | 'when-changed';
  /**
   * Called with the name of every command this connection sends (find, insert, update, findAndModify, …),
   * from the driver's command monitoring; the handshake, heartbeat and authentication commands
   * (CONTROL_COMMANDS) are left out. Attached before the connection opens, so start-up work counts too.
   * Without it command monitoring stays off.
   */
  onCommand?: (commandName: string) => void;
  /** How often the driver checks the server (heartbeatFrequencyMS, 10 s) and its connect timeout (30 s). */
  heartbeatFrequencyMS?: number;
  connectTimeoutMS?: number;
  /**
   * Told when the driver's server monitor is stuck and the client is reopened (monitor-watchdog.ts); the
   * watchdog runs whether or not these are given.
   */
  monitor?: Partial<MonitorWatchdogOptions>;
}

/** Connection housekeeping, not work the application asked for: never passed to onCommand. */
export const CONTROL_COMMANDS: ReadonlySet<string> = new Set([
  'hello',
  'ismaster',
  'isMaster',
  'ping',
  'endSessions',
  'saslStart',
  'saslContinue',
  'authenticate',
  'getnonce',
  'buildInfo',
  'buildinfo',
  'logout',
]);

export async function connectDatabase(uri: string, opts: ConnectOptions = {}): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    appName: opts.appName ?? 'smtpdesk',
    ...(opts.heartbeatFrequencyMS !== undefined ? { heartbeatFrequencyMS: opts.heartbeatFrequencyMS } : {}),
    ...(opts.connectTimeoutMS !== undefined ? { connectTimeoutMS: opts.connectTimeoutMS } : {}),
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
    socketTimeoutMS: opts.operationTimeoutMs ?? 30_000,
    // Accepted mail and account changes must survive a crash: majority, journaled.
    writeConcern: { w: 'majority', journal: true },
    autoIndex: false,
    // A CLI command leaves creating collections to ensureIndexes, which it runs only when needed.
    autoCreate: opts.ensureIndexes !== 'when-changed',
    monitorCommands: opts.onCommand !== undefined,
  });
  const onCommand = opts.onCommand;
  if (onCommand) {
    // The client exists once createConnection returns (it connects in the background).
    connection.getClient()?.on('commandStarted', (event) => {
      if (!CONTROL_COMMANDS.has(event.commandName)) onCommand(event.commandName);
    });
  }
  // Before the first heartbeat ends, so a monitor stuck from the start is seen too. The bound comes from the
  // client's own settings (defaults 10 s and 30 s, or what the URI says).
  const client = connection.getClient();
  const stopWatch = watchMonitor(client, { boundMs: heartbeatBoundMs(client.options), ...opts.monitor });
  try {
    await connection.asPromise();
  } catch (err) {
    stopWatch();
    throw err;
  }
  const models = registerModels(connection);
  if (opts.ensureIndexes === 'when-changed') await ensureIndexesWhenChanged(connection, models);
  else if (opts.ensureIndexes !== false) await ensureIndexes(connection, models);
  return {
    connection,
    models,
    close: () => {
      stopWatch();
      return connection.close();
    },
  };
}

export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** Whether the connection is open (for /readyz: a closed one is not worth a ping). */
export function isConnected(db: Database): boolean {
  return db.connection.db !== undefined && (db.connection.readyState as number) === 1;
}

/** One round trip to the server (the admin ping); rejects when the server does not answer. */
export async function pingServer(db: Database): Promise<void> {
  const native = db.connection.db;
  if (!native) throw new Error('not connected');
  await native.admin().ping();
}

const UNAVAILABLE_ERROR_NAMES =
  /^(MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoPoolClearedError|MongoNotConnectedError|MongoTopologyClosedError|MongooseServerSelectionError)$/;
// Socket errors the driver (6.x) lets through unwrapped: a command written in the moment between the server
// closing the connection and the driver noticing fails with Node's own EPIPE "socket has been ended" error.
const SOCKET_ERROR_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT']);

/** Whether an error means the database could not be reached (try again later), not that the call was wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, code } = err as { name?: unknown; code?: unknown };
  if (typeof name === 'string' && UNAVAILABLE_ERROR_NAMES.test(name)) return true;
  return name === 'Error' && typeof code === 'string' && SOCKET_ERROR_CODES.has(code);
}

// Failures that happen before a command is written to a socket: the server cannot have applied it.
const NOT_SENT_ERROR_NAMES = /^(MongoServerSelectionError|MongooseServerSelectionError|MongoNotConnectedError|MongoPoolClearedError)$/;
const NOT_SENT_TIMEOUTS = /server selection|connection checkout|before socket write/i;

/**
 * Whether a failed write may still have been applied by the server: false only when the error says the
 * command never left this process (no server selected, no connection checked out, refused connection).
 * A timeout or a connection lost after the write is "maybe": its answer was lost, not the write.
 */
export function mayHaveReachedServer(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const { name, message, code, cause } = e as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    if (typeof name === 'string' && NOT_SENT_ERROR_NAMES.test(name)) return false;
    if (name === 'MongoOperationTimeoutError' && typeof message === 'string' && NOT_SENT_TIMEOUTS.test(message)) return false;
    if (code === 'ECONNREFUSED') return false;
    e = cause;
  }
  return true;
}
