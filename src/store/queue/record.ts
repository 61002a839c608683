// The queue's documents as the driver returns them, turned into the one record type (domain/queue-model.ts).
// Read with the driver, not mongoose: no hydration, no casting on the hot path.
import { mongo } from 'mongoose';
import type { QueuedMessage, QueuedRecipient } from '../../domain/queue-model.ts';
import type { Models } from '../models/index.ts';

const { ObjectId } = mongo;
type ObjectId = mongo.ObjectId;
type Binary = mongo.Binary;
export type Document = mongo.Document;
type Collection<T extends Document> = mongo.Collection<T>;

/** Majority, journaled: a message is acknowledged only once it survives a crash (and a failover). */
export const DURABLE = { writeConcern: { w: 'majority' as const, journal: true } };

export interface QueueCollections {
  messages: Collection<Document>;
  chunks: Collection<Document>;
  bodies: Collection<Document>;
}

export function queueCollections(models: Models): QueueCollections {
  const coll = (m: { collection: unknown }) => m.collection as Collection<Document>;
  return { messages: coll(models.queuedMessages), chunks: coll(models.messageChunks), bodies: coll(models.messageBodies) };
}

/** Where a stored message's bytes are: our headers, then a part of a batch body document and/or chunks. */
export interface BodyLocation {
  id: string;
  head: Buffer;
  bodyRef?: { doc: string; part: number };
  chunks: number;
}

/**
 * A message as it was stored, before any worker touched it: what a batch notice (and, in the relay's own
 * process, onEnqueued) hands a worker, so that it can claim and deliver without reading the document first.
 */
export interface FreshMessage {
  id: string;
  workspaceId: string;
  accountId: string;
  username: string;
  kind: 'message' | 'bounce';
  from: string;
  to: string[];
  size: number;
  /** Our headers, when they are not in the body part (large messages); empty otherwise. */
  head: Buffer;
  bodyRef?: { doc: string; part: number };
  chunks: number;
  messageId?: string;
  subject?: string;
  at: Date;
}

export function bodyLocationOf(d: Document): BodyLocation {
  const ref = d.bodyRef as { doc?: string; part?: number } | undefined;
  const loc: BodyLocation = { id: (d._id as ObjectId).toHexString(), head: toBuffer(d.head), chunks: Number(d.chunks ?? 0) };
  if (ref?.doc !== undefined && ref.part !== undefined) loc.bodyRef = { doc: ref.doc, part: ref.part };
  return loc;
}

/** Everything but the body: what listings and admin changes read. */
export const WITHOUT_BODY = { head: 0, outcomeBatches: 0 } as const;

/** A string _id (counter and chunk documents) as the driver's Document typing wants it. */
export function stringId(id: string): ObjectId {
  return id as unknown as ObjectId;
}

export function oid(id: string): ObjectId {
  return new ObjectId(id);
}

export function isQueueId(id: string): boolean {
  return /^[a-f0-9]{24}$/i.test(id);
}

/** A new queue id: an ObjectId chosen before the write, so a write that lands late can still be found. */
export function newQueueId(): string {
  return new ObjectId().toHexString();
}

export function toBuffer(data: unknown): Buffer {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(data)) return data;
  const bin = data as Binary & { buffer?: Uint8Array };
  if (bin.buffer instanceof Uint8Array) return Buffer.from(bin.buffer.buffer, bin.buffer.byteOffset, bin.buffer.byteLength);
  throw new Error('unexpected body data type');
}

function recipientOf(r: Document): QueuedRecipient {
  const out: QueuedRecipient = {
    address: String(r.address),
    domain: String(
      r.domain ??
        String(r.address)
          .slice(String(r.address).lastIndexOf('@') + 1)
          .toLowerCase(),
    ),
    status: r.status as QueuedRecipient['status'],
    attempts: Number(r.attempts ?? 0),
  };
  if (r.nextAttemptAt) out.nextAttemptAt = r.nextAttemptAt as Date;
  if (r.lastAttemptAt) out.lastAttemptAt = r.lastAttemptAt as Date;
  if (r.lastError) out.lastError = String(r.lastError);
  if (r.finishedAt) out.finishedAt = r.finishedAt as Date;
  if (r.response) out.response = String(r.response);
  return out;
}

/** Recipients as stored: absent optional fields stay absent (no nulls). */
export function recipientDoc(r: QueuedRecipient): Document {
  const d: Document = { address: r.address, domain: r.domain, status: r.status, attempts: r.attempts };
  if (r.nextAttemptAt) d.nextAttemptAt = r.nextAttemptAt;
  if (r.lastAttemptAt) d.lastAttemptAt = r.lastAttemptAt;
  if (r.lastError) d.lastError = r.lastError;
  if (r.finishedAt) d.finishedAt = r.finishedAt;
  if (r.response) d.response = r.response;
  return d;
}

export function recordOf(d: Document): QueuedMessage {
  const m: QueuedMessage = {
    id: (d._id as ObjectId).toHexString(),
    workspaceId: String(d.workspaceId),
    accountId: String(d.accountId),
    username: String(d.username),
    kind: d.kind === 'bounce' ? 'bounce' : 'message',
    from: String((d.envelope as { from?: string } | undefined)?.from ?? ''),
    recipients: ((d.recipients as Document[] | undefined) ?? []).map(recipientOf),
    state: d.state === 'done' ? 'done' : 'queued',
    size: Number(d.size ?? 0),
    chunks: Number(d.chunks ?? 0),
    createdAt: d.createdAt as Date,
    nextAttemptAt: d.nextAttemptAt as Date,
    leaseCount: Number(d.leaseCount ?? 0),
  };
  if (d.messageId) m.messageId = String(d.messageId);
  if (d.subject) m.subject = String(d.subject);
  if (d.clientIp) m.clientIp = String(d.clientIp);
  if (d.relayHost) m.relayHost = String(d.relayHost);
  if (d.finishedAt) m.finishedAt = d.finishedAt as Date;
  if (d.leaseOwner) m.leaseOwner = String(d.leaseOwner);
  if (d.leaseUntil) m.leaseUntil = d.leaseUntil as Date;
  if (d.bodyRemovedAt) m.bodyRemovedAt = d.bodyRemovedAt as Date;
  return m;
}

/**
 * When a leased message becomes due for other workers: one lease after its lease ends. A live owner cut off from
 * the database for longer than its lease (which may have handed the message to the next hop meanwhile) thus gets
 * the first chance, once the database is back, to write its outcome or renew (both guarded by its token) before
 * another worker takes the message and sends it again. A dead owner's messages wait that much longer.
 */
export function dueAfterLease(until: Date, leaseMs: number): Date {
  return new Date(until.getTime() + leaseMs);
}

/** When the message is due next (its earliest queued recipient), or null when every recipient is finished. */
export function nextDue(recipients: readonly QueuedRecipient[], now: Date): Date | null {
  let next: number | null = null;
  for (const r of recipients) {
    if (r.status !== 'queued') continue;
    const t = r.nextAttemptAt ? r.nextAttemptAt.getTime() : now.getTime();
    next = next === null ? t : Math.min(next, t);
  }
  return next === null ? null : new Date(next);
}
