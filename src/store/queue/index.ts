// The outbound queue's one home: storing (single and in batches, large bodies streamed into chunks),
// withdrawing, reading bodies, claiming, renewing, finishing and releasing leases, admin changes, retention
// and depth. The relay, the worker, the CLI and the jobs use only this. One instance per process: a worker
// in the same process as the relay hears of new messages through onEnqueued (an explicit call, no polling).
import type { Models } from '../models/index.ts';
import { administering } from './admin.ts';
import { claiming } from './claims.ts';
import { leasing } from './leases.ts';
import { enqueueing, planBodies, type BodyPlan, type NewQueuedMessage } from './enqueue.ts';
import type { FreshMessage } from './record.ts';
import { oid, queueCollections } from './record.ts';
import { retaining } from './retention.ts';
import { depthSampler } from './depth.ts';

export { CHUNK_SIZE, chunkId, freshMessage, planBodies, type BodyPlan, type NewQueuedMessage } from './enqueue.ts';
export type { FreshMessage } from './record.ts';
export type { Lease, ClaimOptions, FinishedAttempt } from './claims.ts';
export type { RetentionOptions, RetentionResult } from './retention.ts';
export { newQueueId, nextDue } from './record.ts';

export function createQueue(models: Models) {
  const c = queueCollections(models);
  const store = enqueueing(c);
  const listeners = new Set<(msgs: FreshMessage[]) => void>();
  const retention = retaining(c);
  return {
    ...store,
    /** The queue depth, counted at most a small share of the time (one sampler per process). */
    depth: depthSampler(() => retention.countQueued()),
    /**
     * Stores the messages in one command, then tells this process's workers, unless `announce: false` (the
     * relay's commit announces them itself, once it knows they count as accepted).
     */
    async enqueueMany(msgs: NewQueuedMessage[], plan: BodyPlan = planBodies(msgs), opts: { timeoutMS?: number; announce?: boolean } = {}): Promise<FreshMessage[]> {
      const { announce, ...t } = opts;
      const fresh = await store.enqueueMany(msgs, plan, t);
      if (announce !== false && fresh.length) for (const l of listeners) l(fresh);
      return fresh;
    },
    /** Tells this process's workers of stored messages. */
    announce(fresh: FreshMessage[]): void {
      if (fresh.length) for (const l of listeners) l(fresh);
    },
    /** A worker of this process subscribes to messages this process stores; returns the unsubscribe. */
    onEnqueued(listener: (msgs: FreshMessage[]) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Whether a worker of this process hears of new messages. */
    hasLocalWorker(): boolean {
      return listeners.size > 0;
    },
    async exists(id: string): Promise<boolean> {
      return (await c.messages.findOne({ _id: oid(id) }, { projection: { _id: 1 } })) !== null;
    },
    /** The ids among `ids` that are stored: one lookup. */
    async presentIds(ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await c.messages.find({ _id: { $in: ids.map(oid) } }, { projection: { _id: 1 } }).toArray();
      return new Set(rows.map((r) => String(r._id)));
    },
    /** The ids among `ids` on which the outcome write of ledger batch `batchId` landed: one lookup. */
    async outcomesLanded(ids: string[], batchId: string): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await c.messages.find({ _id: { $in: ids.map(oid) } }, { projection: { outcomeBatches: 1 } }).toArray();
      return new Set(rows.filter((r) => ((r.outcomeBatches as string[] | undefined) ?? []).includes(batchId)).map((r) => String(r._id)));
    },
    /** Stores notices (DSNs) whose ids were chosen before: one stored already is not stored twice. */
    async storeNotices(msgs: NewQueuedMessage[]): Promise<void> {
      const present = await this.presentIds(msgs.map((m) => m.id));
      const missing = msgs.filter((m) => !present.has(m.id));
      if (missing.length === 0) return;
      try {
        await this.enqueueMany(missing);
      } catch (err) {
        if (!onlyDuplicates(err)) throw err;
      }
    },
    ...claiming(c),
    ...leasing(c),
    ...administering(c),
    ...retention,
  };
}

export type Queue = ReturnType<typeof createQueue>;

/** Whether a failed insert failed only because some documents were there already. */
function onlyDuplicates(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: { code?: number }[] | { code?: number } };
  if (e.code === 11000) return true;
  const list = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
  return list.length > 0 && list.every((w) => w.code === 11000);
}
