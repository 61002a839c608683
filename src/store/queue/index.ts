// The outbound queue's one home: storing (single and in batches, large bodies streamed into chunks),
// withdrawing, reading bodies, claiming, renewing, finishing and releasing leases, admin changes, retention
// and depth. The relay, the worker, the CLI and the jobs use only this. One instance per process: a worker
// in the same process as the relay hears of new messages through onEnqueued (an explicit call, no polling).
import type { Models } from '../models/index.ts';
import { administering } from './admin.ts';
import { claiming } from './claims.ts';
import { enqueueing, type NewQueuedMessage } from './enqueue.ts';
import { oid, queueCollections } from './record.ts';
import { retaining } from './retention.ts';

export { CHUNK_SIZE, chunkId, type NewQueuedMessage } from './enqueue.ts';
export type { Lease, ClaimOptions, FinishedAttempt } from './claims.ts';
export type { RetentionOptions, RetentionResult } from './retention.ts';
export { newQueueId, nextDue } from './record.ts';

export function createQueue(models: Models) {
  const c = queueCollections(models);
  const store = enqueueing(c);
  const listeners = new Set<(ids: string[]) => void>();
  return {
    ...store,
    /** Stores the messages in one command, then tells this process's workers. */
    async enqueueMany(msgs: NewQueuedMessage[]): Promise<void> {
      await store.enqueueMany(msgs);
      if (listeners.size && msgs.length) {
        const ids = msgs.map((m) => m.id);
        for (const l of listeners) l(ids);
      }
    },
    /** A worker of this process subscribes to messages this process stores; returns the unsubscribe. */
    onEnqueued(listener: (ids: string[]) => void): () => void {
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
    /** Whether the outcome write of counter batch `batchId` landed on the message. */
    async outcomeLanded(id: string, batchId: string): Promise<boolean> {
      const doc = await c.messages.findOne({ _id: oid(id) }, { projection: { outcomeBatches: 1 } });
      return ((doc?.outcomeBatches as string[] | undefined) ?? []).includes(batchId);
    },
    ...claiming(c),
    ...administering(c),
    ...retaining(c),
  };
}

export type Queue = ReturnType<typeof createQueue>;
