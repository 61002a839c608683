// One mongoose connection per process (or per test file), created by the composition root and passed
// down: no module-level database singleton.
import mongoose, { type Connection } from 'mongoose';
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
  /** Create indexes at start (default true). */
  ensureIndexes?: boolean;
}

export async function connectDatabase(uri: string, opts: ConnectOptions = {}): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    appName: opts.appName ?? 'smtpdesk',
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
    // Accepted mail and account changes must survive a crash: majority, journaled.
    writeConcern: { w: 'majority', journal: true },
    autoIndex: false,
    autoCreate: true,
  });
  await connection.asPromise();
  const models = registerModels(connection);
  if (opts.ensureIndexes !== false) await ensureIndexes(models);
  return {
    connection,
    models,
    close: () => connection.close(),
  };
}

/** Indexes are declared next to each model; this builds them all, once, at start. */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) {
    await model.createCollection().catch(() => undefined);
    await model.createIndexes();
  }
}

export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
