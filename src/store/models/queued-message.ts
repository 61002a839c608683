import { Schema, type Connection, type InferSchemaType } from 'mongoose';

/**
 * One accepted message in the outbound queue, with each recipient's own outcome embedded, so that the
 * insert of this document is the commit point of an accepted message (large bodies' chunks are written
 * before it). The storage declaration only: every read and write goes through src/store/queue, whose
 * record type (domain/queue-model.ts) is the one shape of a queued message.
 */
const recipientSchema = new Schema(
  {
    address: { type: String, required: true },
    domain: { type: String, required: true },
    status: { type: String, enum: ['queued', 'delivered', 'bounced', 'failed'], required: true, default: 'queued' },
    attempts: { type: Number, required: true, default: 0 },
    nextAttemptAt: { type: Date },
    lastError: { type: String },
    lastAttemptAt: { type: Date },
    finishedAt: { type: Date },
    /** The upstream's answer on success (queue id of the next hop). */
    response: { type: String },
  },
  { _id: false },
);

export const queuedMessageSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    accountId: { type: String, required: true },
    username: { type: String, required: true },
    envelope: {
      from: { type: String, default: '' }, // '' = null sender
      to: { type: [String], required: true },
    },
    recipients: { type: [recipientSchema], required: true },
    size: { type: Number, required: true },
    /**
     * The stored message is `head` (the headers smtpdesk added), then the body: a part of a batch body
     * document (`bodyRef`, messages up to RELAY_INLINE_BODY_BYTES) or `chunks` pieces in message_chunks.
     */
    head: { type: Buffer },
    bodyRef: { type: new Schema({ doc: String, part: Number }, { _id: false }), default: undefined },
    /** Number of body chunks in message_chunks (0 for small messages and once retention ran). */
    chunks: { type: Number, required: true },
    messageId: { type: String },
    subject: { type: String },
    clientIp: { type: String },
    relayHost: { type: String },
    state: { type: String, enum: ['queued', 'done'], required: true, default: 'queued' },
    /** 'bounce': a delivery status notice smtpdesk wrote itself (null sender); not counted in the account's statistics. */
    kind: { type: String, enum: ['message', 'bounce'], default: 'message' },
    /** Earliest time any queued recipient may be tried again. */
    nextAttemptAt: { type: Date, required: true },
    leaseOwner: { type: String },
    leaseUntil: { type: Date },
    /** Times a worker leased the message: more than the attempts made means a worker died holding it. */
    leaseCount: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    finishedAt: { type: Date },
    bodyRemovedAt: { type: Date },
    /** Ledger batches (src/store/ledger) whose outcome write landed here: what a ledger recovery counts. */
    outcomeBatches: { type: [String], default: undefined },
    /** The relay's commit batch that stored this message. */
    batchId: { type: String },
  },
  { collection: 'queued_messages', versionKey: false },
);
// The delete flow and `smtpdesk queue` count an account's queued messages.
queuedMessageSchema.index({ accountId: 1, state: 1 });
// The worker's lease query: queued and due. A lease pushes nextAttemptAt to the lease's end, so a message
// whose worker died (lease not renewed) is simply due again: one range on this index finds it.
queuedMessageSchema.index({ state: 1, nextAttemptAt: 1 });
// `smtpdesk queue list`: a workspace's messages, newest first.
queuedMessageSchema.index({ workspaceId: 1, state: 1, createdAt: -1 });
// Retention: which messages still need a batch body document.
queuedMessageSchema.index({ 'bodyRef.doc': 1 });
// Retention: finished messages by age.
queuedMessageSchema.index({ state: 1, finishedAt: 1 });
// "Where is my email" (src/store/queue/find.ts): by recipient (multikey) and by Message-ID, newest first.
queuedMessageSchema.index({ workspaceId: 1, 'recipients.address': 1, createdAt: -1 });
queuedMessageSchema.index({ workspaceId: 1, messageId: 1, createdAt: -1 });

export type QueuedMessageDoc = InferSchemaType<typeof queuedMessageSchema>;
export const queuedMessageModel = (c: Connection) => c.model('QueuedMessage', queuedMessageSchema);
