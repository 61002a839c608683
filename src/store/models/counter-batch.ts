import { Schema, type Connection } from 'mongoose';

/**
 * One batch of counter changes, written before they are applied: the relay's commit of a group of messages
 * (quota reservation, the messages, the account's sent counters) or a worker's outcomes (delivered, bounced,
 * deferred, failed). Each counter document records the batches applied to it (`cb.<batchId>`), so a
 * process that finishes a batch left open by a crash applies each change at most once.
 *
 * An accepted batch whose counters are applied stays as a notice of new work ('stored') until a delivery
 * worker takes it: workers find new messages here instead of scanning the queue.
 * Read and written only through src/store/counters/batches.ts.
 */
export const counterBatchSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: ['accept', 'outcome'], required: true },
    state: { type: String, enum: ['open', 'refused', 'stored'], required: true },
    owner: { type: String, required: true },
    createdAt: { type: Date, required: true },
    /** accept: the messages of the batch. */
    messages: { type: [Schema.Types.Mixed], default: undefined },
    /** outcome: each message's counter delta. */
    outcomes: { type: [Schema.Types.Mixed], default: undefined },
  },
  { collection: 'counter_batches', versionKey: false },
);
counterBatchSchema.index({ state: 1, createdAt: 1 });

export const counterBatchModel = (c: Connection) => c.model('CounterBatch', counterBatchSchema);
