// Claiming queued work. Each claim is one atomic findOneAndUpdate by _id guarded by "still queued and due":
// of several workers trying the same id, exactly one wins, and the winner gets the whole document (inline
// body included) in the same round trip. The lease sets nextAttemptAt to the lease's end, so a message whose
// worker died (lease not renewed) becomes due again by itself. Every later write is guarded by the lease
// token, so a worker that lost its lease changes nothing.
//
// Ids come from the batch notices the relay leaves (batches.ts) and, as a safety net for retries and
// expired leases, from a query on {state, nextAttemptAt}. On MongoDB that query is an index range; FerretDB
// v1 scans the collection for it, so the worker runs it only when notices run dry.
import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import type { QueuedMessage, QueuedRecipient } from '../../domain/queue-model.ts';
import { bodyLocationOf, nextDue, oid, recipientDoc, recordOf, type BodyLocation, type FreshMessage, type QueueCollections } from './record.ts';

export interface Lease {
  id: string;
  /** Unique per lease: guards every later write. */
  token: string;
  until: Date;
  message: QueuedMessage;
  /** Where its bytes are (queue.readBody reads them). */
  body: BodyLocation;
}

export interface ClaimOptions {
  owner: string;
  now: Date;
  leaseMs: number;
}

export interface FinishedAttempt {
  lease: Lease;
  recipients: QueuedRecipient[];
}

function freshRecord(m: FreshMessage, until: Date): QueuedMessage {
  const r: QueuedMessage = {
    id: m.id,
    workspaceId: m.workspaceId,
    accountId: m.accountId,
    username: m.username,
    kind: m.kind,
    from: m.from,
    recipients: m.to.map((address) => ({ address, domain: address.slice(address.lastIndexOf('@') + 1).toLowerCase(), status: 'queued' as const, attempts: 0 })),
    state: 'queued',
    size: m.size,
    chunks: m.chunks,
    createdAt: m.at,
    nextAttemptAt: until,
    leaseCount: 1,
  };
  if (m.messageId) r.messageId = m.messageId;
  if (m.subject) r.subject = m.subject;
  return r;
}

function freshBody(m: FreshMessage): BodyLocation {
  const loc: BodyLocation = { id: m.id, head: m.head, chunks: m.chunks };
  if (m.bodyRef) loc.bodyRef = m.bodyRef;
  return loc;
}

let sequence = 0;
const leaseToken = (owner: string) => `${owner}#${(++sequence).toString(36)}${randomBytes(2).toString('hex')}`;

export function claiming(c: QueueCollections) {
  return {
    /** Up to `limit` ids of queued messages due at `now`. No sort: FerretDB can stop at the limit-th match. */
    async findDueIds(now: Date, limit: number): Promise<string[]> {
      const rows = await c.messages.find({ state: 'queued', nextAttemptAt: { $lte: now } }, { projection: { _id: 1 }, limit }).toArray();
      return rows.map((r) => (r._id as { toHexString(): string }).toHexString());
    },

    /** Leases one message if it is still queued and due; null when another worker was first (or it is gone). */
    async claim(id: string, opts: ClaimOptions): Promise<Lease | null> {
      const token = leaseToken(opts.owner);
      const until = new Date(opts.now.getTime() + opts.leaseMs);
      const doc = await c.messages.findOneAndUpdate(
        { _id: oid(id), state: 'queued', nextAttemptAt: { $lte: opts.now } },
        { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: until }, $inc: { leaseCount: 1 } },
        // No projection: FerretDB v1 does not implement one on findAndModify.
        { returnDocument: 'after' },
      );
      if (!doc) return null;
      return { id, token, until, message: recordOf(doc), body: bodyLocationOf(doc) };
    },

    /**
     * Leases messages no worker has touched yet, all in one command, and builds each lease from what the
     * relay handed over (no read of the documents): the guard `leaseCount: 0` makes sure the document still
     * is exactly that. Returns the leases won (a message another worker took first is left out).
     */
    async claimFresh(msgs: FreshMessage[], opts: ClaimOptions): Promise<Lease[]> {
      if (msgs.length === 0) return [];
      const token = leaseToken(opts.owner);
      const until = new Date(opts.now.getTime() + opts.leaseMs);
      const ops = msgs.map((m) => ({
        updateOne: {
          filter: { _id: oid(m.id), state: 'queued', leaseCount: 0, nextAttemptAt: { $lte: opts.now } },
          update: { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: until }, $inc: { leaseCount: 1 } },
        },
      }));
      const res = await c.messages.bulkWrite(ops, { ordered: false });
      let won = msgs;
      if (res.matchedCount !== msgs.length) {
        // Another worker (or a due-time scan) was first for some: keep the ones that carry our token.
        const ours = await c.messages.find({ _id: { $in: msgs.map((m) => oid(m.id)) }, leaseOwner: token }, { projection: { _id: 1 } }).toArray();
        const ids = new Set(ours.map((d) => String(d._id)));
        won = msgs.filter((m) => ids.has(m.id));
      }
      return won.map((m) => ({ id: m.id, token, until, message: freshRecord(m, until), body: freshBody(m) }));
    },

    /**
     * Leases up to `limit` due messages (retries, expired leases, messages whose notice was lost) in two
     * commands: one query on the due time returns the documents, one bulk write claims each guarded by what
     * was read (queued, the same due time and lease count: nobody leased or changed it since). Only when some
     * were taken by another worker first, a third command finds out which are ours. On FerretDB the query
     * scans the collection, so the worker runs it sparingly (see delivery/claimer.ts).
     */
    async claimDue(opts: ClaimOptions & { limit: number }): Promise<{ leases: Lease[]; seen: number }> {
      const rows = await c.messages.find({ state: 'queued', nextAttemptAt: { $lte: opts.now } }, { projection: { outcomeBatches: 0 }, limit: opts.limit }).toArray();
      if (rows.length === 0) return { leases: [], seen: 0 };
      const token = leaseToken(opts.owner);
      const until = new Date(opts.now.getTime() + opts.leaseMs);
      const ops = rows.map((d) => ({
        updateOne: {
          filter: { _id: d._id, state: 'queued', nextAttemptAt: d.nextAttemptAt as Date, leaseCount: Number(d.leaseCount ?? 0) },
          update: { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: until }, $inc: { leaseCount: 1 } },
        },
      }));
      const res = await c.messages.bulkWrite(ops, { ordered: false });
      let won = rows;
      if (res.matchedCount !== rows.length) {
        const ours = await c.messages.find({ _id: { $in: rows.map((d) => d._id) }, leaseOwner: token }, { projection: { _id: 1 } }).toArray();
        const ids = new Set(ours.map((d) => String(d._id)));
        won = rows.filter((d) => ids.has(String(d._id)));
      }
      const leases = won.map((d) => {
        const message = { ...recordOf(d), nextAttemptAt: until, leaseOwner: token, leaseUntil: until, leaseCount: Number(d.leaseCount ?? 0) + 1 };
        return { id: message.id, token, until, message, body: bodyLocationOf(d) };
      });
      return { leases, seen: rows.length };
    },

    /**
     * Extends every lease still held, in one command; returns the ids held. A lease not among them was lost
     * (it ran out and another worker took the message, or an admin change did).
     */
    async renewMany(leases: Lease[], now: Date, leaseMs: number): Promise<Set<string>> {
      if (leases.length === 0) return new Set();
      const until = new Date(now.getTime() + leaseMs);
      const ops = leases.map((l) => ({ updateOne: { filter: { _id: oid(l.id), leaseOwner: l.token }, update: { $set: { leaseUntil: until, nextAttemptAt: until } } } }));
      const res = await c.messages.bulkWrite(ops, { ordered: false });
      let held = leases;
      if (res.matchedCount !== leases.length) {
        const rows = await c.messages.find({ _id: { $in: leases.map((l) => oid(l.id)) } }, { projection: { leaseOwner: 1 } }).toArray();
        const owner = new Map(rows.map((r) => [String(r._id), r.leaseOwner as string | undefined]));
        held = leases.filter((l) => owner.get(l.id) === l.token);
      }
      for (const l of held) l.until = until;
      return new Set(held.map((l) => l.id));
    },

    /** Hands several leased messages back untouched, due now, in one command (a stopping worker's). */
    async releaseMany(leases: Lease[], now: Date): Promise<void> {
      if (leases.length === 0) return;
      const ops = leases.map((l) => ({
        updateOne: {
          filter: { _id: oid(l.id), leaseOwner: l.token },
          update: { $set: { nextAttemptAt: nextDue(l.message.recipients, now) ?? now }, $unset: { leaseOwner: '', leaseUntil: '' } },
        },
      }));
      await c.messages.bulkWrite(ops, { ordered: false });
    },

    /** Extends a lease still held; false when it was lost (expired and taken by another worker). */
    async renew(lease: Lease, now: Date, leaseMs: number): Promise<boolean> {
      const until = new Date(now.getTime() + leaseMs);
      const res = await c.messages.updateOne({ _id: oid(lease.id), leaseOwner: lease.token }, { $set: { leaseUntil: until, nextAttemptAt: until } });
      if (res.matchedCount === 1) lease.until = until;
      return res.matchedCount === 1;
    },

    /**
     * Writes several attempts' recipients and gives their leases up, in one command: a message is done when
     * every recipient is finished, else due again at its earliest queued recipient. `batch` names the counter
     * batch these outcomes are counted in (recorded on each message, for a ledger recovery). Returns the ids
     * whose lease was still held (the others changed nothing).
     */
    async finishMany(items: FinishedAttempt[], now: Date, batch: string): Promise<Set<string>> {
      if (items.length === 0) return new Set();
      const ops = items.map(({ lease, recipients }) => {
        const next = nextDue(recipients, now);
        const set: Record<string, unknown> = { recipients: recipients.map(recipientDoc), nextAttemptAt: next ?? now };
        if (next === null) Object.assign(set, { state: 'done', finishedAt: now });
        const update = { $set: set, $unset: { leaseOwner: '', leaseUntil: '' }, $push: { outcomeBatches: batch } };
        return { updateOne: { filter: { _id: oid(lease.id), leaseOwner: lease.token }, update } };
      });
      const res = await c.messages.bulkWrite(ops as unknown as mongo.AnyBulkWriteOperation<mongo.Document>[], { ordered: false });
      if (res.matchedCount === items.length) return new Set(items.map((i) => i.lease.id));
      // Some lease was lost meanwhile (rare): find out which writes landed, one lookup.
      const rows = await c.messages.find({ _id: { $in: items.map((i) => oid(i.lease.id)) } }, { projection: { outcomeBatches: 1 } }).toArray();
      return new Set(rows.filter((r) => ((r.outcomeBatches as string[] | undefined) ?? []).includes(batch)).map((r) => String(r._id)));
    },

    /** Hands a leased message back untouched, due now (a stopping worker that had not started it). */
    async release(lease: Lease, now: Date): Promise<boolean> {
      const res = await c.messages.updateOne(
        { _id: oid(lease.id), leaseOwner: lease.token },
        { $set: { nextAttemptAt: nextDue(lease.message.recipients, now) ?? now }, $unset: { leaseOwner: '', leaseUntil: '' } },
      );
      return res.matchedCount === 1;
    },
  };
}
