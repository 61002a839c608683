import { Schema, type Connection, type InferSchemaType } from 'mongoose';

/**
 * One outbound event webhook to one URL. The event sink inserts it (every process, so CLI, Slack and
 * webhook changes all produce events); the dispatcher in the http role leases it with one atomic
 * findOneAndUpdate, POSTs it signed, and retries on failure until it is delivered or given up.
 * The body is stored as the exact JSON string sent, so every attempt carries the same bytes.
 */
export const webhookOutboxSchema = new Schema(
  {
    /** The event's id (the same for every URL); receivers dedupe on X-Smtpdesk-Delivery, which is this entry's _id. */
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    url: { type: String, required: true },
    body: { type: String, required: true },
    state: { type: String, enum: ['pending', 'delivered', 'failed'], required: true, default: 'pending' },
    attempts: { type: Number, required: true, default: 0 },
    /** When the next attempt is due. While an attempt runs, this is the end of its lease. */
    nextAttemptAt: { type: Date, required: true },
    leaseOwner: { type: String },
    lastStatus: { type: Number },
    lastError: { type: String },
    createdAt: { type: Date, required: true },
    finishedAt: { type: Date },
  },
  { collection: 'webhook_outbox', versionKey: false },
);
webhookOutboxSchema.index({ eventId: 1, url: 1 }, { unique: true });
// The dispatcher's lease query: pending and due, oldest first.
webhookOutboxSchema.index({ state: 1, nextAttemptAt: 1 });
// Pruning finished entries by age.
webhookOutboxSchema.index({ state: 1, finishedAt: 1 });

export type WebhookOutboxDoc = InferSchemaType<typeof webhookOutboxSchema>;
export const webhookOutboxModel = (c: Connection) => c.model('WebhookOutbox', webhookOutboxSchema);
