// A held lease: renewed, finished (the attempt's outcome written under it) or handed back. Every write is
// guarded by the lease token, so a worker that lost its lease changes nothing.
import { mongo } from 'mongoose';
import type { FinishedAttempt, Lease } from './claims.ts';
import { dueAfterLease, nextDue, oid, recipientDoc, type QueueCollections } from './record.ts';

export function leasing(c: QueueCollections) {
  return {
    /**
     * Extends every lease still held, in one command; returns the ids held. A lease not among them was lost
     * (it ran out and another worker took the message, or an admin change did).
     */
    async renewMany(leases: Lease[], now: Date, leaseMs: number): Promise<Set<string>> {
      if (leases.length === 0) return new Set();
      const until = new Date(now.getTime() + leaseMs);
      const ops = leases.map((l) => ({
        updateOne: { filter: { _id: oid(l.id), leaseOwner: l.token }, update: { $set: { leaseUntil: until, nextAttemptAt: dueAfterLease(until, leaseMs) } } },
      }));
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
      const res = await c.messages.updateOne({ _id: oid(lease.id), leaseOwner: lease.token }, { $set: { leaseUntil: until, nextAttemptAt: dueAfterLease(until, leaseMs) } });
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

    /**
     * Removes messages this worker has just leased for the first time and not tried: their relay refused
     * them (a 451) and their insert landed late. Returns the ids removed.
     */
    async withdrawLeased(leases: Lease[]): Promise<string[]> {
      if (leases.length === 0) return [];
      const ops = leases.map((l) => ({ deleteOne: { filter: { _id: oid(l.id), leaseOwner: l.token, leaseCount: 1, 'recipients.attempts': { $not: { $gt: 0 } } } } }));
      await c.messages.bulkWrite(ops, { ordered: false });
      const stayed = new Set((await c.messages.find({ _id: { $in: leases.map((l) => oid(l.id)) } }, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
      const removed = leases.filter((l) => !stayed.has(l.id)).map((l) => l.id);
      if (removed.length) await c.chunks.deleteMany({ messageId: { $in: removed.map(oid) } });
      return removed;
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
