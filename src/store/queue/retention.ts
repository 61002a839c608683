// Retention of message bodies (no TTL indexes: FerretDB v1 has none, and the message document stays).
// Finished messages older than the cut-off lose their body (head, chunks, their claim on a batch body
// document) and get bodyRemovedAt; their recipients, outcomes and the account's counters are kept. A batch
// body document goes once none of its messages needs it; chunks and body documents no message document ever
// referred to (the relay crashed, or refused the message after its body streamed in) go once older than a
// day. Safe to run from several instances at once.
import { mongo } from 'mongoose';
import { stringId, type QueueCollections } from './record.ts';

export interface RetentionResult {
  /** Finished messages whose body was removed. */
  messages: number;
  /** Body chunks removed for them. */
  chunks: number;
  /** Chunks removed that belonged to no message. */
  orphanChunks: number;
  /** Batch body documents removed (no message needs them any more). */
  bodyDocuments: number;
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

const DAY_MS = 86_400_000;

export function retaining(c: QueueCollections) {
  return {
    async removeFinishedBodies(opts: RetentionOptions): Promise<RetentionResult> {
      const now = opts.now ?? new Date();
      const batchSize = opts.batchSize ?? 500;
      const result: RetentionResult = { messages: 0, chunks: 0, orphanChunks: 0, bodyDocuments: 0 };
      const bodyDocs = new Set<string>();
      // Each round marks what it removed, so the next round (and a concurrent run) moves on.
      for (;;) {
        const batch = await c.messages
          .find({ state: 'done', finishedAt: { $lt: opts.olderThan }, bodyRemovedAt: null }, { projection: { _id: 1, bodyRef: 1 }, limit: batchSize })
          .toArray();
        if (batch.length === 0) break;
        const ids = batch.map((d) => d._id);
        for (const d of batch) if ((d.bodyRef as { doc?: string } | undefined)?.doc) bodyDocs.add((d.bodyRef as { doc: string }).doc);
        const removed = await c.chunks.deleteMany({ messageId: { $in: ids } });
        const marked = await c.messages.updateMany({ _id: { $in: ids }, bodyRemovedAt: null }, { $set: { bodyRemovedAt: now, chunks: 0 }, $unset: { head: '' } });
        result.messages += marked.modifiedCount;
        result.chunks += removed.deletedCount;
        if (batch.length < batchSize) break;
      }
      // Orphans: a message id is an ObjectId made when the message arrived, so a chunk's age is in its messageId.
      const cutoff = mongo.ObjectId.createFromTime(Math.floor((opts.orphansOlderThan ?? new Date(now.getTime() - DAY_MS)).getTime() / 1000));
      let after: mongo.ObjectId | null = null;
      for (;;) {
        const filter: Record<string, unknown> = { n: 0, messageId: after ? { $lt: cutoff, $gt: after } : { $lt: cutoff } };
        const first = await c.chunks
          .find(filter, { projection: { messageId: 1 } })
          .sort({ messageId: 1 })
          .limit(batchSize)
          .toArray();
        if (first.length === 0) break;
        const ids = first.map((d) => d.messageId as mongo.ObjectId);
        const existing = await c.messages.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray();
        const known = new Set(existing.map((d) => String(d._id)));
        const orphans = ids.filter((id) => !known.has(String(id)));
        if (orphans.length) result.orphanChunks += (await c.chunks.deleteMany({ messageId: { $in: orphans } })).deletedCount;
        after = ids[ids.length - 1]!;
        if (first.length < batchSize) break;
      }
      // Batch body documents: those of the messages just done with, and any older than a day (orphans).
      const orphanBefore = cutoff.toHexString();
      let afterId = '';
      for (;;) {
        const old = await c.bodies
          .find({ _id: { $gt: stringId(afterId), $lt: stringId(orphanBefore) } }, { projection: { _id: 1 } })
          .sort({ _id: 1 })
          .limit(batchSize)
          .toArray();
        for (const d of old) bodyDocs.add(String(d._id));
        if (old.length < batchSize) break;
        afterId = String(old[old.length - 1]!._id);
      }
      // Which of them a message still needs: one lookup and one delete per `batchSize` documents, not a read each.
      const candidates = [...bodyDocs];
      for (let i = 0; i < candidates.length; i += batchSize) {
        const slice = candidates.slice(i, i + batchSize);
        const needing = await c.messages.find({ 'bodyRef.doc': { $in: slice }, bodyRemovedAt: null }, { projection: { bodyRef: 1 } }).toArray();
        const needed = new Set(needing.map((d) => String((d.bodyRef as { doc?: string } | undefined)?.doc)));
        const free = slice.filter((d) => !needed.has(d));
        if (free.length) result.bodyDocuments += (await c.bodies.deleteMany({ _id: { $in: free.map(stringId) } })).deletedCount;
      }
      return result;
    },
    /** What removeFinishedBodies would take (a dry run). */
    countFinishedWithBody(olderThan: Date): Promise<number> {
      return c.messages.countDocuments({ state: 'done', finishedAt: { $lt: olderThan }, bodyRemovedAt: null });
    },
    /** Messages not yet finished (the smtpdesk_queue_depth gauge). */
    countQueued(): Promise<number> {
      return c.messages.countDocuments({ state: 'queued' });
    },
  };
}
