// Outbound event webhooks waiting to be sent: written by the event sink, leased by the dispatcher.
import { Types } from 'mongoose';
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export interface OutboxEntry {
  id: string;
  eventId: string;
  type: string;
  url: string;
  body: string;
  attempts: number;
  createdAt: Date;
}

export interface WebhookOutboxStore {
  /** One entry per URL; adding the same event twice is a no-op. */
  add(input: { eventId: string; type: string; urls: readonly string[]; body: string; at: Date }): Promise<void>;
  /**
   * Atomically takes the oldest due entry for `leaseMs`: its next attempt moves to the end of the lease,
   * so an entry whose dispatcher died becomes due again by itself. Counts the attempt.
   */
  lease(owner: string, now: Date, leaseMs: number): Promise<OutboxEntry | null>;
  markDelivered(id: string, owner: string, at: Date, status: number): Promise<void>;
  /** Schedules the next attempt, or gives up (state failed) when `nextAttemptAt` is null. */
  markFailed(id: string, owner: string, at: Date, failure: { status?: number; error: string; nextAttemptAt: Date | null }): Promise<void>;
  countPending(): Promise<number>;
  /** Removes delivered and given-up entries finished before `before`. */
  prune(before: Date): Promise<number>;
}

type OutboxRow = {
  _id: Types.ObjectId;
  eventId: string;
  type: string;
  url: string;
  body: string;
  attempts: number;
  createdAt: Date;
};

export function webhookOutboxStore(m: Models): WebhookOutboxStore {
  const O = m.webhookOutbox;
  return {
    async add({ eventId, type, urls, body, at }) {
      if (urls.length === 0) return;
      const docs = urls.map((url) => ({ eventId, type, url, body, state: 'pending', attempts: 0, nextAttemptAt: at, createdAt: at }));
      try {
        await O.insertMany(docs, { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyError(err) && !isBulkDuplicateOnly(err)) throw err;
      }
    },
    async lease(owner, now, leaseMs) {
      const row = await O.findOneAndUpdate(
        { state: 'pending', nextAttemptAt: { $lte: now } },
        { $set: { nextAttemptAt: new Date(now.getTime() + leaseMs), leaseOwner: owner }, $inc: { attempts: 1 } },
        { sort: { nextAttemptAt: 1 }, new: true },
      ).lean<OutboxRow>();
      if (!row) return null;
      return {
        id: row._id.toString(),
        eventId: row.eventId,
        type: row.type,
        url: row.url,
        body: row.body,
        attempts: row.attempts,
        createdAt: row.createdAt,
      };
    },
    async markDelivered(id, owner, at, status) {
      await O.updateOne(
        { _id: id, leaseOwner: owner, state: 'pending' },
        { $set: { state: 'delivered', finishedAt: at, lastStatus: status }, $unset: { leaseOwner: 1, lastError: 1 } },
      );
    },
    async markFailed(id, owner, at, failure) {
      const set: Record<string, unknown> = { lastError: failure.error.slice(0, 500) };
      if (failure.status !== undefined) set.lastStatus = failure.status;
      if (failure.nextAttemptAt) set.nextAttemptAt = failure.nextAttemptAt;
      else Object.assign(set, { state: 'failed', finishedAt: at });
      await O.updateOne({ _id: id, leaseOwner: owner, state: 'pending' }, { $set: set, $unset: { leaseOwner: 1 } });
    },
    countPending() {
      return O.countDocuments({ state: 'pending' });
    },
    async prune(before) {
      const r = await O.deleteMany({ state: { $in: ['delivered', 'failed'] }, finishedAt: { $lt: before } });
      return r.deletedCount ?? 0;
    },
  };
}

function isBulkDuplicateOnly(err: unknown): boolean {
  const errors = (err as { writeErrors?: { code?: number; err?: { code?: number } }[] } | null)?.writeErrors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => (e.code ?? e.err?.code) === 11000);
}
