import { Schema, type Connection } from 'mongoose';

/**
 * The bodies of the small messages of one relay commit, together (up to a few MB a document): written with one
 * insert, read by a worker with one lookup for the whole batch, and kept out of the message documents, whose
 * every update (claim, finish) would otherwise rewrite the body too. A message finds its body by
 * `bodyRef: { doc, part }`; large messages keep theirs in message_chunks. Removed by retention once no message
 * needs it. Read and written only through src/store/queue.
 */
export const messageBodySchema = new Schema(
  {
    _id: { type: String, required: true },
    parts: { type: [Buffer], required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'message_bodies', versionKey: false },
);

export const messageBodyModel = (c: Connection) => c.model('MessageBody', messageBodySchema);
