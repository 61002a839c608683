// Storing accepted messages. A commit of several messages is two inserts: one batch body document holding the
// bodies of its small messages (message-body.ts), then the message documents (the commit point). A large
// message's body streams into chunks while it arrives, before its document, so a crash before the insert
// leaves only orphans (removed by retention), never a half message.
import { LRUCache } from 'lru-cache';
import type { Document } from './record.ts';
import { bodyLocationOf, DURABLE, newQueueId, oid, recipientDoc, stringId, toBuffer, type BodyLocation, type FreshMessage, type QueueCollections } from './record.ts';

/** Chunk size of a large body in message_chunks (below the 16 MB document limit). */
export const CHUNK_SIZE = 1024 * 1024;
/** A batch body document holds at most this much (a retry reads the whole document for its one part). */
const BODY_DOC_BYTES = 4 * 1024 * 1024;

export interface NewQueuedMessage {
  /** Queue id chosen by the caller (newQueueId()), so it can name the message before it is stored. */
  id: string;
  workspaceId: string;
  accountId: string;
  username: string;
  from: string;
  to: string[];
  /** The headers smtpdesk puts in front (Received, a missing Message-ID or Date). */
  head: Buffer;
  /** The message as received, when it is small enough to be stored with its batch (else in `chunks`). */
  body?: Buffer;
  /** Chunks already written with writeChunk. */
  chunks?: number;
  /** Total bytes: head, body and chunks. */
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

/** Where each message's body goes: batch body documents (small messages: our headers and the body as one part). */
export interface BodyPlan {
  docs: { _id: string; parts: Buffer[]; createdAt: Date }[];
  refs: Map<string, { doc: string; part: number }>;
}

/** The message as a worker will first see it (see FreshMessage). */
export function freshMessage(msg: NewQueuedMessage, plan: BodyPlan): FreshMessage {
  const bodyRef = plan.refs.get(msg.id);
  const fresh: FreshMessage = {
    id: msg.id,
    workspaceId: msg.workspaceId,
    accountId: msg.accountId,
    username: msg.username,
    kind: msg.kind ?? 'message',
    from: msg.from,
    to: msg.to,
    size: msg.size ?? msg.head.length + (msg.body?.length ?? 0),
    head: bodyRef ? Buffer.alloc(0) : msg.head,
    chunks: msg.chunks ?? 0,
    at: msg.at,
  };
  if (bodyRef) fresh.bodyRef = bodyRef;
  if (msg.messageId) fresh.messageId = msg.messageId;
  if (msg.subject) fresh.subject = msg.subject;
  return fresh;
}

function messageDocument(msg: NewQueuedMessage, bodyRef?: { doc: string; part: number }): Document {
  const doc: Document = {
    _id: oid(msg.id),
    workspaceId: msg.workspaceId,
    accountId: msg.accountId,
    username: msg.username,
    envelope: { from: msg.from, to: msg.to },
    recipients: msg.to.map((address) => recipientDoc({ address, domain: address.slice(address.lastIndexOf('@') + 1).toLowerCase(), status: 'queued', attempts: 0 })),
    size: msg.size ?? msg.head.length + (msg.body?.length ?? 0),
    // With a body part, our headers are the part's start.
    head: bodyRef ? Buffer.alloc(0) : msg.head,
    chunks: msg.chunks ?? 0,
    state: 'queued',
    kind: msg.kind ?? 'message',
    nextAttemptAt: msg.at,
    createdAt: msg.at,
    leaseCount: 0,
  };
  if (bodyRef) doc.bodyRef = bodyRef;
  for (const k of ['messageId', 'subject', 'clientIp', 'relayHost', 'batchId'] as const) if (msg[k]) doc[k] = msg[k];
  return doc;
}

/** Packs the small bodies (headers first) into documents of at most BODY_DOC_BYTES, each message's place noted. */
export function planBodies(msgs: NewQueuedMessage[], at: Date = msgs[0]?.at ?? new Date()): BodyPlan {
  const docs: { _id: string; parts: Buffer[]; createdAt: Date; bytes: number }[] = [];
  const refs = new Map<string, { doc: string; part: number }>();
  for (const m of msgs) {
    if (!m.body) continue;
    let cur = docs[docs.length - 1];
    if (!cur || (cur.bytes + m.body.length > BODY_DOC_BYTES && cur.parts.length > 0)) {
      cur = { _id: newQueueId(), parts: [], createdAt: at, bytes: 0 };
      docs.push(cur);
    }
    refs.set(m.id, { doc: cur._id, part: cur.parts.length });
    cur.parts.push(m.head.length ? Buffer.concat([m.head, m.body]) : m.body);
    cur.bytes += m.head.length + m.body.length;
  }
  return { docs: docs.map(({ bytes: _, ...d }) => d), refs };
}

/**
 * Recently read batch body documents: the messages of one batch are claimed (and due ones ordered) together, so
 * a document is read once for all of them. Small and short-lived on purpose: each entry pins its database reply,
 * and the 32 MB cache before it held 60 MB of buffers after a backlog and kept the worker's RSS 40 MB up
 * (bench:drain, docs/performance.md).
 */
const BODY_CACHE_BYTES = 8 * 1024 * 1024;
const BODY_CACHE_TTL_MS = 30_000;

function bodyCache(): LRUCache<string, Buffer[]> {
  return new LRUCache<string, Buffer[]>({
    maxSize: BODY_CACHE_BYTES,
    sizeCalculation: (parts) =>
      Math.max(
        1,
        parts.reduce((n, p) => n + p.length, 0),
      ),
    ttl: BODY_CACHE_TTL_MS,
  });
}

export function enqueueing(c: QueueCollections) {
  const cache = bodyCache();
  // A worker starts the messages of one batch together: they share one read of their body document.
  const reading = new Map<string, Promise<Buffer[]>>();
  const readBodyDocument = (id: string): Promise<Buffer[]> => {
    let read = reading.get(id);
    if (!read) {
      read = c.bodies
        .findOne({ _id: stringId(id) })
        .then((doc) => {
          const parts = ((doc?.parts as unknown[] | undefined) ?? []).map(toBuffer);
          if (doc) cache.set(id, parts);
          return parts;
        })
        .finally(() => reading.delete(id));
      reading.set(id, read);
    }
    return read;
  };
  return {
    /**
     * Stores the messages (majority, journaled): their small bodies in one insert (by `plan`, when the caller
     * made one, which may hold the bodies of more messages than are stored), then the documents in one.
     */
    async enqueueMany(msgs: NewQueuedMessage[], plan: BodyPlan = planBodies(msgs), opts: { timeoutMS?: number } = {}): Promise<FreshMessage[]> {
      if (msgs.length === 0) return [];
      const used = new Set(msgs.map((m) => plan.refs.get(m.id)?.doc).filter((d): d is string => d !== undefined));
      const docs = plan.docs.filter((d) => used.has(d._id));
      const started = Date.now();
      if (docs.length) await c.bodies.insertMany(docs as unknown as Document[], { ordered: false, ...DURABLE, ...opts });
      // The two inserts share the caller's budget.
      const left = opts.timeoutMS === undefined ? {} : { timeoutMS: Math.max(1, opts.timeoutMS - (Date.now() - started)) };
      await c.messages.insertMany(
        msgs.map((m) => messageDocument(m, plan.refs.get(m.id))),
        { ordered: false, ...DURABLE, ...left },
      );
      return msgs.map((m) => freshMessage(m, plan));
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
     * then completed late). Only a message no worker has leased or finished a recipient of is removed. (Its
     * part of a batch body document goes with that document, by retention.)
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
    /** withdraw() for many: one delete, one lookup of what stayed, one delete of their chunks. */
    async withdrawMany(ids: string[]): Promise<{ removed: string[]; inDelivery: string[] }> {
      if (ids.length === 0) return { removed: [], inDelivery: [] };
      const _ids = ids.map(oid);
      await c.messages.deleteMany({
        _id: { $in: _ids },
        state: 'queued',
        leaseOwner: null,
        leaseCount: { $not: { $gt: 0 } },
        'recipients.attempts': { $not: { $gt: 0 } },
        'recipients.status': { $nin: ['delivered', 'bounced', 'failed'] },
      });
      const stayed = new Set((await c.messages.find({ _id: { $in: _ids } }, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
      const removed = ids.filter((id) => !stayed.has(id));
      if (removed.length) await c.chunks.deleteMany({ messageId: { $in: removed.map(oid) } });
      return { removed, inDelivery: [...stayed] };
    },
    /** The stored message: our headers, then its part of a batch body document and its chunks, in order. */
    async readBody(message: { id: string } | BodyLocation): Promise<Buffer> {
      let loc: BodyLocation;
      if ('head' in message) loc = message;
      else {
        const doc = await c.messages.findOne({ _id: oid(message.id) }, { projection: { head: 1, bodyRef: 1, chunks: 1 } });
        if (!doc) return Buffer.alloc(0);
        loc = bodyLocationOf(doc);
      }
      const parts: Buffer[] = [loc.head];
      if (loc.bodyRef) {
        const body = cache.get(loc.bodyRef.doc) ?? (await readBodyDocument(loc.bodyRef.doc));
        const part = body[loc.bodyRef.part];
        if (part) parts.push(part);
      }
      for (let n = 0; n < loc.chunks; n++) {
        const piece = await c.chunks.findOne({ _id: stringId(chunkId(loc.id, n)) }, { projection: { data: 1 } });
        if (!piece) break;
        parts.push(toBuffer(piece.data));
      }
      return Buffer.concat(parts);
    },
  };
}
