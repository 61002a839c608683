import { Schema, type Connection } from 'mongoose';

/**
 * One entry of the message ledger (src/store/ledger): one batch of counter changes, written before they are applied: the relay's commit of a group of messages
 * (quota reservation, the messages, the account's sent counters) or a worker's outcomes (delivered, bounced,
 * deferred, failed). Each counter document records the batches applied to it (`cb.<batchId>`), so a
 * process that finishes a batch left open by a crash applies each change at most once.
 *
 * An accepted batch whose counters are applied stays as a notice of new work ('stored') until a delivery
 * worker takes it: workers find new messages here instead of scanning the queue.
 * The owner holds its batch by `leaseUntil` (renewed while it works on it); recovery touches a batch only once
 * that has passed. A refused batch stays a while as a tombstone (`checks`), so that messages landing late
 * under it are withdrawn. Read and written only through src/store/ledger.
 */
export const counterBatchSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: ['accept', 'outcome', 'correction'], required: true },
    state: { type: String, enum: ['open', 'refused', 'stored'], required: true },
    owner: { type: String, required: true },
    createdAt: { type: Date, required: true },
    /** Until when the owner holds the batch (heartbeat); recovery finds batches past it. */
    leaseUntil: { type: Date, required: true },
    /** Times recovery looked at a refused batch (a tombstone goes after a few). */
    checks: { type: Number },
    /** accept: the messages of the batch. */
    messages: { type: [Schema.Types.Mixed], default: undefined },
    /** accept: the ids inserted, when the quota refused some of the messages. */
    accepted: { type: [String], default: undefined },
    /** outcome: each message's counter delta. */
    outcomes: { type: [Schema.Types.Mixed], default: undefined },
    /** outcome: delivery status notices to store for the entries whose outcome landed (written with the finish). */
    notices: { type: [Schema.Types.Mixed], default: undefined },
  },
  { collection: 'counter_batches', versionKey: false },
);
// Recovery's query: batches whose owner stopped renewing them (one range on this index).
counterBatchSchema.index({ leaseUntil: 1 });

export const counterBatchModel = (c: Connection) => c.model('CounterBatch', counterBatchSchema);
