// Claiming queued work, in bulk: each claim is guarded so that of several workers trying the same message
// exactly one wins. New messages (from the relay's notices in the ledger, or this process's relay) are
// claimed by one bulk write guarded by "never leased", without reading them; due messages (retries, expired
// leases, lost notices) by one query on {state, nextAttemptAt} and one bulk write guarded by what was read.
// The lease sets nextAttemptAt to the lease's end, so a message whose worker died (lease not renewed) becomes
// due again by itself. Renewing, finishing and handing back: leases.ts.
import { randomBytes } from 'node:crypto';
import type { QueuedMessage, QueuedRecipient } from '../../domain/queue-model.ts';
import { bodyLocationOf, dueAfterLease, oid, recordOf, type BodyLocation, type FreshMessage, type QueueCollections } from './record.ts';

export interface Lease {
  id: string;
  /** Unique per lease: guards every later write. */
  token: string;
  until: Date;
  message: QueuedMessage;
  /** Where its bytes are (queue.readBody reads them). */
  body: BodyLocation;
  /** Set when no worker had leased the message before: the relay's ledger batch that stored it. */
  firstFromBatch?: string;
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

function freshRecord(m: FreshMessage, until: Date, due: Date): QueuedMessage {
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
    nextAttemptAt: due,
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

/** How many more due messages a claim reads than it takes (see claimDue), and at most how many more. */
const SPREAD = 3;
const MAX_EXTRA = 128;

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const bodyDocOf = (l: Lease) => l.body.bodyRef?.doc ?? '';

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
        { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: dueAfterLease(until, opts.leaseMs) }, $inc: { leaseCount: 1 } },
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
          update: { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: dueAfterLease(until, opts.leaseMs) }, $inc: { leaseCount: 1 } },
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
      return won.map((m) => ({ id: m.id, token, until, message: freshRecord(m, until, dueAfterLease(until, opts.leaseMs)), body: freshBody(m) }));
    },

    /**
     * Leases up to `limit` due messages (retries, expired leases, messages whose notice was lost) in two
     * commands: one query on the due time returns the documents, one bulk write claims each guarded by what
     * was read (queued, the same due time and lease count: nobody leased or changed it since). Only when some
     * were taken by another worker first, a third command finds out which are ours. On FerretDB the query
     * scans the collection, so the worker runs it sparingly (see delivery/claimer.ts).
     */
    async claimDue(opts: ClaimOptions & { limit: number; exclude?: readonly string[] }): Promise<{ leases: Lease[]; seen: number }> {
      // Read a few times more than wanted and claim a random part: workers scanning at the same moment then
      // mostly claim different messages instead of all racing for the first ones.
      // `exclude`: what the claiming worker holds itself. A lease of its own that ran out while the database was
      // away is still being delivered or finished by it: claimed again, the message would go out twice.
      // They are left out here, not in the query: a `$nin` of hundreds of ids is evaluated on every document FerretDB
      // reads, and such a lease has rarely run out (its message is then read, and skipped, in its place).
      const exclude = new Set(opts.exclude);
      const read = await c.messages
        .find({ state: 'queued', nextAttemptAt: { $lte: opts.now } }, { projection: { outcomeBatches: 0 }, limit: opts.limit + Math.min(opts.limit * (SPREAD - 1), MAX_EXTRA) })
        .toArray();
      const found = exclude.size ? read.filter((d) => !exclude.has(String(d._id))) : read;
      if (found.length === 0) return { leases: [], seen: 0 };
      const rows = shuffle(found).slice(0, opts.limit);
      const token = leaseToken(opts.owner);
      const until = new Date(opts.now.getTime() + opts.leaseMs);
      const ops = rows.map((d) => ({
        updateOne: {
          filter: { _id: d._id, state: 'queued', nextAttemptAt: d.nextAttemptAt as Date, leaseCount: Number(d.leaseCount ?? 0) },
          update: { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: dueAfterLease(until, opts.leaseMs) }, $inc: { leaseCount: 1 } },
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
        const message = { ...recordOf(d), nextAttemptAt: dueAfterLease(until, opts.leaseMs), leaseOwner: token, leaseUntil: until, leaseCount: Number(d.leaseCount ?? 0) + 1 };
        const lease: Lease = { id: message.id, token, until, message, body: bodyLocationOf(d) };
        if (!d.leaseCount && typeof d.batchId === 'string') lease.firstFromBatch = d.batchId;
        return lease;
      });
      // The messages of one batch body document go out one after the other, so they share one read of it.
      leases.sort((a, b) => {
        const [x, y] = [bodyDocOf(a), bodyDocOf(b)];
        return x < y ? -1 : x > y ? 1 : 0;
      });
      return { leases, seen: Math.min(found.length, opts.limit) };
    },
  };
}
