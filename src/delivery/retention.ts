// Retention of message bodies (no TTL indexes: FerretDB v1 has none, and the message document stays).
// Finished messages older than the cut-off lose their body chunks and get bodyRemovedAt; their recipients,
// outcomes and the account's counters are kept. Chunks whose message document was never written (the relay
// crashed between the two writes) are removed once they are older than a day. The jobs role schedules this
// (JOB_RETENTION_SCHEDULE, DELIVERY_RETENTION_DAYS); it is safe to run from several instances at once.
import { Types } from 'mongoose';
import type { Models } from '../store/models/index.ts';
import { DAY_MS } from '../domain/index.ts';

export interface RetentionResult {
  /** Finished messages whose body was removed. */
  messages: number;
  /** Body chunks removed for them. */
  chunks: number;
  /** Chunks removed that belonged to no message. */
  orphanChunks: number;
}

export interface RetentionOptions {
  /** Finished before this time: body removed. */
  olderThan: Date;
  /** Orphan chunks older than this are removed (default: a day before `now`). */
  orphansOlderThan?: Date;
  now?: Date;
  /** Documents per round trip. */
  batchSize?: number;
}

export async function removeFinishedMessageBodies(models: Models, opts: RetentionOptions): Promise<RetentionResult> {
  const now = opts.now ?? new Date();
  const batchSize = opts.batchSize ?? 500;
  const result: RetentionResult = { messages: 0, chunks: 0, orphanChunks: 0 };

  // Finished messages: index {state, finishedAt}; each round marks what it removed, so the next round
  // (and a concurrent run) moves on.
  for (;;) {
    const batch = await models.queuedMessages
      .find({ state: 'done', finishedAt: { $lt: opts.olderThan }, bodyRemovedAt: null }, { _id: 1 })
      .limit(batchSize)
      .lean<{ _id: Types.ObjectId }[]>();
    if (batch.length === 0) break;
    const ids = batch.map((d) => d._id);
    const removed = await models.messageChunks.deleteMany({ messageId: { $in: ids } });
    const marked = await models.queuedMessages.updateMany(
      { _id: { $in: ids }, bodyRemovedAt: null },
      { $set: { bodyRemovedAt: now, chunks: 0 } },
    );
    result.messages += marked.modifiedCount;
    result.chunks += removed.deletedCount;
    if (batch.length < batchSize) break;
  }

  // Orphans: a message id is an ObjectId made at enqueue time, so the chunk's age is in its messageId.
  const orphanCutoff = Types.ObjectId.createFromTime(Math.floor((opts.orphansOlderThan ?? new Date(now.getTime() - DAY_MS)).getTime() / 1000));
  let after: Types.ObjectId | null = null;
  for (;;) {
    const filter: Record<string, unknown> = { n: 0, messageId: after ? { $lt: orphanCutoff, $gt: after } : { $lt: orphanCutoff } };
    const firstChunks = await models.messageChunks
      .find(filter, { messageId: 1 })
      .sort({ messageId: 1 })
      .limit(batchSize)
      .lean<{ messageId: Types.ObjectId }[]>();
    if (firstChunks.length === 0) break;
    const ids = firstChunks.map((c) => c.messageId);
    const existing = await models.queuedMessages.find({ _id: { $in: ids } }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>();
    const known = new Set(existing.map((d) => d._id.toHexString()));
    const orphans = ids.filter((id) => !known.has(id.toHexString()));
    if (orphans.length) {
      const removed = await models.messageChunks.deleteMany({ messageId: { $in: orphans } });
      result.orphanChunks += removed.deletedCount;
    }
    after = ids[ids.length - 1]!;
    if (firstChunks.length < batchSize) break;
  }
  return result;
}
