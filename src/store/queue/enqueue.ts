// Storing accepted messages. A batch of messages is one insertMany (group commit); a large message's body
// streams into chunks first, while it arrives, so the insert of its document stays the commit point and a
// crash before it leaves only orphan chunks (removed by retention), never a half message.
import type { Document } from './record.ts';
import { DURABLE, oid, recipientDoc, stringId, toBuffer, type QueueCollections } from './record.ts';

/** Chunk size of a large body in message_chunks (below the 16 MB document limit). */
export const CHUNK_SIZE = 1024 * 1024;

export interface NewQueuedMessage {
  /** Queue id chosen by the caller (newQueueId()), so it can name the message before it is stored. */
  id: string;
  workspaceId: string;
  accountId: string;
  username: string;
  from: string;
  to: string[];
  /** The start of the message: all of it, or (when `chunks` > 0) what precedes the chunks already written. */
  head: Buffer;
  /** Chunks already written with writeChunk (0: the whole message is in `head`). */
  chunks?: number;
  /** Total bytes: head plus chunks. */
  size?: number;
  messageId?: string;
  subject?: string;
  clientIp?: string;
  relayHost?: string;
  /** 'bounce' for the delivery status notices the worker writes (not counted in the account's statistics). */
  kind?: 'message' | 'bounce';
  /** The relay's commit batch (counter ledger), when there is one. */
  batchId?: string;
  at: Date;
}

/** A chunk's _id names its message and place, so reading a body is lookups by _id (FerretDB v1 pushes down only those). */
export function chunkId(messageId: string, n: number): string {
  return `${messageId}:${n}`;
}

export function messageDocument(msg: NewQueuedMessage): Document {
  const doc: Document = {
    _id: oid(msg.id),
    workspaceId: msg.workspaceId,
    accountId: msg.accountId,
    username: msg.username,
    envelope: { from: msg.from, to: msg.to },
    recipients: msg.to.map((address) =>
      recipientDoc({ address, domain: address.slice(address.lastIndexOf('@') + 1).toLowerCase(), status: 'queued', attempts: 0 }),
    ),
    size: msg.size ?? msg.head.length,
    body: msg.head,
    chunks: msg.chunks ?? 0,
    state: 'queued',
    kind: msg.kind ?? 'message',
    nextAttemptAt: msg.at,
    createdAt: msg.at,
    leaseCount: 0,
  };
  for (const k of ['messageId', 'subject', 'clientIp', 'relayHost', 'batchId'] as const) if (msg[k]) doc[k] = msg[k];
  return doc;
}

export function enqueueing(c: QueueCollections) {
  return {
    /** Stores the messages (majority, journaled) in one command; throws when any of them may not be stored. */
    async enqueueMany(msgs: NewQueuedMessage[]): Promise<void> {
      if (msgs.length === 0) return;
      await c.messages.insertMany(msgs.map(messageDocument), { ordered: false, ...DURABLE });
    },
    /** One piece of a large body, written as it arrives (before the message document). */
    async writeChunk(messageId: string, n: number, data: Buffer): Promise<void> {
      await c.chunks.insertOne({ _id: stringId(chunkId(messageId, n)), messageId: oid(messageId), n, data }, DURABLE);
    },
    /** Chunks of a message that was refused after its body streamed in. */
    async discardChunks(messageId: string): Promise<void> {
      await c.chunks.deleteMany({ messageId: oid(messageId) });
    },
    /**
     * Takes back a message whose sender was told it was not accepted (its store call failed or timed out and
     * then completed late). Only a message no worker has leased or finished a recipient of is removed.
     */
    async withdraw(id: string): Promise<'removed' | 'absent' | 'in_delivery'> {
      const _id = oid(id);
      const res = await c.messages.deleteOne({
        _id,
        state: 'queued',
        leaseOwner: null,
        leaseCount: { $not: { $gt: 0 } },
        'recipients.attempts': { $not: { $gt: 0 } },
        'recipients.status': { $nin: ['delivered', 'bounced', 'failed'] },
      });
      if (res.deletedCount !== 1 && (await c.messages.findOne({ _id }, { projection: { _id: 1 } }))) return 'in_delivery';
      await c.chunks.deleteMany({ messageId: _id });
      return res.deletedCount === 1 ? 'removed' : 'absent';
    },
    /** The stored message: its inline start, then its chunks in order (lookups by _id). */
    async readBody(message: { id: string; chunks: number }, head?: Buffer): Promise<Buffer> {
      let start = head;
      if (start === undefined) {
        const doc = await c.messages.findOne({ _id: oid(message.id) }, { projection: { body: 1, chunks: 1 } });
        start = toBuffer(doc?.body);
        message = { id: message.id, chunks: Number(doc?.chunks ?? message.chunks) };
      }
      if (message.chunks === 0) return start;
      const parts: Buffer[] = [start];
      for (let n = 0; n < message.chunks; n++) {
        const part = await c.chunks.findOne({ _id: stringId(chunkId(message.id, n)) }, { projection: { data: 1 } });
        if (!part) break;
        parts.push(toBuffer(part.data));
      }
      if (parts.length === 1) {
        // Bodies stored before chunk ids were named (ObjectId _id, found by messageId).
        const legacy = await c.chunks.find({ messageId: oid(message.id) }).sort({ n: 1 }).toArray();
        return Buffer.concat([start, ...legacy.map((p) => toBuffer(p.data))]);
      }
      return Buffer.concat(parts);
    },
  };
}
