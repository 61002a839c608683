// The counter batch documents (models/counter-batch.ts): written before a batch's counters are applied,
// closed after; an accepted batch stays as a notice of new work until a delivery worker takes it.
import { mongo } from 'mongoose';
import { DURABLE, stringId } from '../queue/record.ts';
import type { Models } from '../models/index.ts';

type Coll = mongo.Collection<mongo.Document>;

export interface AcceptedEntry {
  id: string;
  workspaceId: string;
  accountId: string;
  recipients: number;
  at: Date;
}

export interface OutcomeEntry {
  id: string;
  workspaceId: string;
  accountId: string;
  at: Date;
  delta: Record<string, number>;
}

export interface CounterBatch {
  _id: string;
  kind: 'accept' | 'outcome';
  state: 'open' | 'refused' | 'stored';
  owner: string;
  createdAt: Date;
  messages?: AcceptedEntry[];
  outcomes?: OutcomeEntry[];
}

export function counterBatches(models: Models) {
  const coll = models.counterBatches.collection as unknown as Coll;
  return {
    newId: () => new mongo.ObjectId().toHexString(),
    async open(batch: CounterBatch): Promise<void> {
      await coll.insertOne(batch as unknown as mongo.Document, DURABLE);
    },
    async get(id: string): Promise<CounterBatch | null> {
      return (await coll.findOne({ _id: stringId(id) })) as unknown as CounterBatch | null;
    },
    async setState(id: string, state: CounterBatch['state']): Promise<void> {
      await coll.updateOne({ _id: stringId(id) }, { $set: { state } });
    },
    async close(id: string): Promise<void> {
      await coll.deleteOne({ _id: stringId(id) });
    },
    /**
     * Takes up to `limit` notices of newly stored messages (each by exactly one worker) and returns their
     * message ids. The collection holds only batches in flight, so finding them is cheap on any database.
     */
    async takeNotices(limit: number): Promise<string[]> {
      const found = await coll.find({ kind: 'accept', state: 'stored' }, { projection: { _id: 1 }, limit }).toArray();
      const ids: string[] = [];
      for (const { _id } of found) {
        // No projection: FerretDB v1 does not implement one on findAndModify.
        const doc = await coll.findOneAndDelete({ _id, state: 'stored' });
        for (const m of (doc?.messages as AcceptedEntry[] | undefined) ?? []) ids.push(m.id);
      }
      return ids;
    },
    /** Batches older than `before` (left by a crash or a store outage), oldest first. */
    async stale(before: Date, limit = 100): Promise<CounterBatch[]> {
      return (await coll.find({ createdAt: { $lt: before } }, { limit }).toArray()) as unknown as CounterBatch[];
    },
  };
}

export type CounterBatches = ReturnType<typeof counterBatches>;
