// The ledger's batch documents (models/counter-batch.ts). Written before the work they describe, held by
// their owner through `leaseUntil`, closed (deleted) once their counters are applied. An accepted batch
// stays as a notice of new work ('stored') until a delivery worker takes it; a refused one stays a while
// as a tombstone so that what lands late under it is withdrawn.
import { mongo } from 'mongoose';
import type { NewQueuedMessage } from '../queue/enqueue.ts';
import { DURABLE, stringId, toBuffer, type FreshMessage } from '../queue/record.ts';
import type { Models } from '../models/index.ts';

type Coll = mongo.Collection<mongo.Document>;

/** A message of an accepted batch: all a worker needs to claim and deliver it (see FreshMessage). */
export type AcceptedEntry = FreshMessage;

/** One message's counter change in an outcome (or correction) batch. */
export interface OutcomeEntry {
  id: string;
  workspaceId: string;
  accountId: string;
  at: Date;
  delta: Record<string, number>;
}

export type BatchKind = 'accept' | 'outcome' | 'correction';
export type BatchState = 'open' | 'refused' | 'stored';

export interface LedgerBatch {
  _id: string;
  kind: BatchKind;
  state: BatchState;
  owner: string;
  createdAt: Date;
  leaseUntil: Date;
  checks?: number;
  messages?: AcceptedEntry[];
  /** accept: when the quota refused some messages, the ids the owner went on to insert. */
  accepted?: string[];
  outcomes?: OutcomeEntry[];
  /** Notices (DSNs) to store once the outcome of message `forId` has landed. */
  notices?: { forId: string; message: NewQueuedMessage }[];
}

const ACCEPT_FILTER = { kind: 'accept', state: 'stored' };

function revive(doc: mongo.Document | null): LedgerBatch | null {
  if (!doc) return null;
  const b = doc as unknown as LedgerBatch;
  if (b.notices) {
    b.notices = b.notices.map((n) => ({ forId: n.forId, message: { ...n.message, head: toBuffer(n.message.head), body: n.message.body ? toBuffer(n.message.body) : undefined } }));
  }
  return b;
}

export function ledgerBatches(models: Models) {
  const coll = models.counterBatches.collection as unknown as Coll;
  return {
    newId: () => new mongo.ObjectId().toHexString(),
    async open(batch: LedgerBatch, opts: { timeoutMS?: number } = {}): Promise<void> {
      await coll.insertOne(batch as unknown as mongo.Document, { ...DURABLE, ...opts });
    },
    async get(id: string): Promise<LedgerBatch | null> {
      return revive(await coll.findOne({ _id: stringId(id) }));
    },
    /** Moves the batch to `state` (and its lease to `leaseUntil`); false when it is gone. */
    async setState(id: string, state: BatchState, leaseUntil: Date, opts: { timeoutMS?: number } = {}): Promise<boolean> {
      const res = await coll.updateOne({ _id: stringId(id) }, { $set: { state, leaseUntil } }, opts);
      return res.matchedCount === 1;
    },
    /** The refusal, recorded unless recovery already decided the batch (then false: it is not ours to say). */
    async refuse(id: string, leaseUntil: Date, opts: { timeoutMS?: number } = {}): Promise<boolean> {
      const res = await coll.updateOne({ _id: stringId(id), state: { $in: ['open', 'refused'] } }, { $set: { state: 'refused', leaseUntil } }, opts);
      return res.matchedCount === 1;
    },
    /** Only these of the batch's messages are inserted (the quota refused the others). */
    async narrow(id: string, accepted: string[], opts: { timeoutMS?: number } = {}): Promise<void> {
      await coll.updateOne({ _id: stringId(id) }, { $set: { accepted } }, opts);
    },
    /** Recovery takes a batch whose lease ran out (one recoverer at a time); false when another was first. */
    async takeOver(batch: LedgerBatch, owner: string, leaseUntil: Date): Promise<boolean> {
      const res = await coll.updateOne({ _id: stringId(batch._id), leaseUntil: batch.leaseUntil }, { $set: { owner, leaseUntil } });
      return res.matchedCount === 1;
    },
    /** The owner's heartbeat for every batch it holds: one command. */
    async renew(ids: string[], leaseUntil: Date): Promise<void> {
      if (ids.length) await coll.updateMany({ _id: { $in: ids.map(stringId) } }, { $set: { leaseUntil } });
    },
    /** A refused batch kept as a tombstone, looked at again later: `checks` counts the looks. */
    async recheckLater(id: string, leaseUntil: Date): Promise<void> {
      await coll.updateOne({ _id: stringId(id) }, { $set: { state: 'refused', leaseUntil }, $inc: { checks: 1 } });
    },
    async close(id: string): Promise<void> {
      await coll.deleteOne({ _id: stringId(id) });
    },
    /**
     * Takes up to `limit` notices of newly stored messages and returns their messages, in two commands whatever
     * the count: one read, one delete. Two workers reading at the same moment may both take a notice; that is
     * safe, since a new message is claimed under the guard "never leased" (claims.ts) and only one of them wins
     * it. The collection holds only batches in flight, so finding them is cheap on any database.
     */
    async takeNotices(limit: number): Promise<FreshMessage[]> {
      const found = await coll.find(ACCEPT_FILTER, { limit }).toArray();
      if (found.length === 0) return [];
      await coll.deleteMany({ _id: { $in: found.map((d) => d._id) }, ...ACCEPT_FILTER });
      return found.flatMap((doc) => ((doc.messages as AcceptedEntry[] | undefined) ?? []).map((m) => ({ ...m, head: toBuffer(m.head), at: new Date(m.at) })));
    },
    /** Batches whose owner stopped holding them (dead, cut off, or a tombstone due a look), oldest lease first. */
    async expired(now: Date, limit = 100): Promise<LedgerBatch[]> {
      const rows = await coll.find({ leaseUntil: { $lt: now } }, { limit }).toArray();
      return rows.map((d) => revive(d)!);
    },
    /** The ids among `ids` of refused batches (tombstones). */
    async refusedAmong(ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await coll.find({ _id: { $in: ids.map(stringId) }, state: 'refused' }, { projection: { _id: 1 } }).toArray();
      return new Set(rows.map((r) => String(r._id)));
    },
    /** Every batch (tests and the CLI). */
    async all(): Promise<LedgerBatch[]> {
      return (await coll.find({}).toArray()).map((d) => revive(d)!);
    },
  };
}

export type LedgerBatches = ReturnType<typeof ledgerBatches>;
