// Durable acceptance: body chunks first, then the message document, whose insert is the commit point.
// A crash between the two leaves only orphan chunks (removed by retention), never a half message.
import { Types } from 'mongoose';
import type { Models } from '../models/index.ts';

export const CHUNK_SIZE = 4 * 1024 * 1024;

export interface NewQueuedMessage {
  /** Queue id chosen by the caller (24 hex digits), so it can name the message before it is stored. */
  id?: string;
  workspaceId: string;
  accountId: string;
  username: string;
  from: string;
  to: string[];
  body: Buffer;
  messageId?: string;
  subject?: string;
  clientIp?: string;
  relayHost?: string;
  /** 'bounce' for the delivery status notices the worker writes (not counted in the account's statistics). */
  kind?: 'message' | 'bounce';
  at: Date;
}

export interface QueueWriter {
  /** Stores the message (majority, journaled) and returns its queue id. */
  enqueue(msg: NewQueuedMessage): Promise<string>;
  /**
   * Takes back a message whose sender was told it was not accepted (its store call timed out and then
   * completed late). Only a message no worker has leased or finished a recipient of is removed.
   */
  withdraw(id: string): Promise<'removed' | 'absent' | 'in_delivery'>;
}

export function queueWriter(m: Models): QueueWriter {
  return {
    async enqueue(msg) {
      const id = msg.id ? new Types.ObjectId(msg.id) : new Types.ObjectId();
      const chunks: { _id: string; messageId: Types.ObjectId; n: number; data: Buffer }[] = [];
      for (let off = 0, n = 0; off < msg.body.length || n === 0; off += CHUNK_SIZE, n++) {
        chunks.push({ _id: chunkId(id.toHexString(), n), messageId: id, n, data: msg.body.subarray(off, off + CHUNK_SIZE) });
      }
      await m.messageChunks.insertMany(chunks, { ordered: true });
      await m.queuedMessages.create({
        _id: id,
        workspaceId: msg.workspaceId,
        accountId: msg.accountId,
        username: msg.username,
        envelope: { from: msg.from, to: msg.to },
        recipients: msg.to.map((address) => ({ address, domain: address.slice(address.lastIndexOf('@') + 1).toLowerCase(), status: 'queued', attempts: 0 })),
        size: msg.body.length,
        chunks: chunks.length,
        messageId: msg.messageId,
        subject: msg.subject,
        clientIp: msg.clientIp,
        relayHost: msg.relayHost,
        state: 'queued',
        kind: msg.kind ?? 'message',
        nextAttemptAt: msg.at,
        createdAt: msg.at,
      });
      return id.toHexString();
    },
    async withdraw(id) {
      const _id = new Types.ObjectId(id);
      const res = await m.queuedMessages.deleteOne({
        _id,
        state: 'queued',
        leaseOwner: null,
        leaseCount: { $not: { $gt: 0 } },
        'recipients.attempts': { $not: { $gt: 0 } },
        'recipients.status': { $nin: ['delivered', 'bounced', 'failed'] },
      });
      if (res.deletedCount !== 1 && (await m.queuedMessages.exists({ _id }))) return 'in_delivery';
      await m.messageChunks.deleteMany({ messageId: _id });
      return res.deletedCount === 1 ? 'removed' : 'absent';
    },
  };
}

/** A chunk's _id names its message and place, so reading a body is lookups by _id (FerretDB v1 pushes down only those). */
export function chunkId(messageId: string, n: number): string {
  return `${messageId}:${n}`;
}

/** Reads a stored body back in order (delivery, inspection). `chunks` (from the message document) saves a lookup. */
export async function readMessageBody(m: Models, messageId: string, chunks?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let n = 0; chunks === undefined || n < chunks; n++) {
    const part = await m.messageChunks.findById(chunkId(messageId, n)).lean<{ data: unknown }>();
    if (!part) break;
    parts.push(toBuffer(part.data));
  }
  if (parts.length) return Buffer.concat(parts);
  // Chunks stored before chunk ids were named (ObjectId _id).
  const legacy = await m.messageChunks.find({ messageId: new Types.ObjectId(messageId) }).sort({ n: 1 }).lean<{ data: unknown }[]>();
  return Buffer.concat(legacy.map((p) => toBuffer(p.data)));
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  // lean() returns BSON Binary for Buffer fields.
  const bin = data as { buffer?: Uint8Array; value?: () => Uint8Array };
  if (bin.buffer instanceof Uint8Array) return Buffer.from(bin.buffer);
  throw new Error('unexpected chunk data type');
}
