import { Schema, type Connection } from 'mongoose';

/** A message body in pieces below the 16 MB document limit (messages may be 25 MB or more). */
export const messageChunkSchema = new Schema(
  {
    /** "<messageId>:<n>" (see chunkId in store/queue/enqueue.ts); older chunks have an ObjectId. */
    _id: { type: String },
    messageId: { type: Schema.Types.ObjectId, required: true },
    n: { type: Number, required: true },
    data: { type: Buffer, required: true },
  },
  { collection: 'message_chunks', versionKey: false },
);
messageChunkSchema.index({ messageId: 1, n: 1 }, { unique: true });

export const messageChunkModel = (c: Connection) => c.model('MessageChunk', messageChunkSchema);
