// The indexes declared next to each model, built at start. A server builds them every time it starts; a CLI
// command, started per call and often on a busy database, builds them only when the definitions differ from
// what was last recorded as built (one read instead of ~40 writes: FerretDB serialises writes, and under load
// that made `accounts disable` take seconds before it did anything).
import { createHash } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { Models } from './models/index.ts';

const META_COLLECTION = 'smtpdesk_meta';
const MARKER_ID = 'indexes';

/** A digest of every collection's declared indexes: changes whenever a model's index definitions do. */
export function indexFingerprint(models: Models): string {
  const declared = Object.values(models)
    .map((m) => [m.collection.collectionName, m.schema.indexes()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(declared)).digest('hex');
}

/** Builds every declared index, then records their fingerprint. */
export async function ensureIndexes(connection: Connection, models: Models): Promise<void> {
  for (const model of Object.values(models)) {
    await model.createCollection().catch(() => undefined);
    await model.createIndexes();
  }
  await markers(connection).updateOne({ _id: MARKER_ID }, { $set: { fingerprint: indexFingerprint(models), builtAt: new Date() } }, { upsert: true });
}

/** Builds the indexes unless the ones declared now were recorded as built. */
export async function ensureIndexesWhenChanged(connection: Connection, models: Models): Promise<void> {
  const marker = await markers(connection).findOne({ _id: MARKER_ID });
  if (marker?.fingerprint !== indexFingerprint(models)) await ensureIndexes(connection, models);
}

function markers(connection: Connection) {
  return connection.collection<{ _id: string; fingerprint?: string; builtAt?: Date }>(META_COLLECTION);
}
