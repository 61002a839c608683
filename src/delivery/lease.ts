// Claiming queued work. A worker reads a few due message ids (index {state, nextAttemptAt}), then leases one
// with a single atomic findOneAndUpdate guarded by "still queued and due": of several workers reading the
// same ids, exactly one wins each message. The lease sets nextAttemptAt to the lease's end, so a message whose
// worker died (lease not renewed) becomes due again by itself and the next poll of any worker picks it up.
// Every write a worker makes afterwards is guarded by its lease token, so a worker that lost its lease
// changes nothing.
//
// Why read first and claim by _id, rather than one findOneAndUpdate on {state, nextAttemptAt}: on MongoDB
// both are index lookups, but FerretDB v1 (the embedded database) evaluates such a filter by reading the
// collection from its start, finished messages included, under its write lock. A read of a batch of ids
// pays that once per batch and outside the lock; the claims by _id use the _id index.
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { Models } from '../store/models/index.ts';

export type RecipientStatus = 'queued' | 'delivered' | 'bounced' | 'failed';

export interface RecipientRecord {
  address: string;
  domain: string;
  status: RecipientStatus;
  attempts: number;
  nextAttemptAt?: Date | null;
  lastError?: string | null;
  lastAttemptAt?: Date | null;
  finishedAt?: Date | null;
  response?: string | null;
}

export interface QueuedMessageRecord {
  _id: Types.ObjectId;
  workspaceId: string;
  accountId: string;
  username: string;
  envelope: { from?: string | null; to: string[] };
  recipients: RecipientRecord[];
  size: number;
  chunks: number;
  messageId?: string | null;
  subject?: string | null;
  state: 'queued' | 'done';
  kind?: 'message' | 'bounce' | null;
  nextAttemptAt: Date;
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  leaseCount?: number | null;
  createdAt: Date;
  finishedAt?: Date | null;
  bodyRemovedAt?: Date | null;
}

export interface Lease {
  id: string;
  /** Unique per lease (worker id + sequence): guards every later write. */
  token: string;
  until: Date;
  message: QueuedMessageRecord;
}

let sequence = 0;
const leaseToken = (owner: string) => `${owner}#${(++sequence).toString(36)}${randomBytes(2).toString('hex')}`;

/** Up to `limit` ids of queued messages due at `now` (oldest due first on MongoDB, by the index). */
export async function findDueMessageIds(models: Models, now: Date, limit: number): Promise<Types.ObjectId[]> {
  // No sort: on MongoDB the index yields due messages in nextAttemptAt order already, and FerretDB (which
  // sorts in memory, after reading every document) can stop at the `limit`-th match.
  const rows = await models.queuedMessages
    .find({ state: 'queued', nextAttemptAt: { $lte: now } }, { _id: 1 })
    .limit(limit)
    .lean<{ _id: Types.ObjectId }[]>();
  return rows.map((r) => r._id);
}

/** Leases one message if it is still queued and due: the atomic step. Null when another worker was first. */
export async function leaseMessage(
  models: Models,
  id: Types.ObjectId | string,
  opts: { owner: string; now: Date; leaseMs: number },
): Promise<Lease | null> {
  const token = leaseToken(opts.owner);
  const until = new Date(opts.now.getTime() + opts.leaseMs);
  const doc = await models.queuedMessages
    .findOneAndUpdate(
      { _id: id, state: 'queued', nextAttemptAt: { $lte: opts.now } },
      { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: until }, $inc: { leaseCount: 1 } },
      { new: true },
    )
    .lean<QueuedMessageRecord>();
  if (!doc) return null;
  return { id: doc._id.toHexString(), token, until, message: doc };
}

/** The next due message, leased to `owner` for `leaseMs`; null when nothing is due. */
export async function leaseNextMessage(models: Models, opts: { owner: string; now: Date; leaseMs: number }): Promise<Lease | null> {
  for (const id of await findDueMessageIds(models, opts.now, 5)) {
    const lease = await leaseMessage(models, id, opts);
    if (lease) return lease;
  }
  return null;
}

/** Extends a lease still held; false when it was lost (expired and taken by another worker). */
export async function renewLease(models: Models, lease: Lease, now: Date, leaseMs: number): Promise<boolean> {
  const until = new Date(now.getTime() + leaseMs);
  const res = await models.queuedMessages.updateOne(
    { _id: lease.message._id, leaseOwner: lease.token },
    { $set: { leaseUntil: until, nextAttemptAt: until } },
  );
  if (res.matchedCount === 1) lease.until = until;
  return res.matchedCount === 1;
}

/** When the message is due next (the earliest queued recipient), or null when every recipient is finished. */
export function nextDue(recipients: readonly RecipientRecord[], now: Date): Date | null {
  let next: number | null = null;
  for (const r of recipients) {
    if (r.status !== 'queued') continue;
    const t = r.nextAttemptAt ? r.nextAttemptAt.getTime() : now.getTime();
    next = next === null ? t : Math.min(next, t);
  }
  return next === null ? null : new Date(next);
}

/**
 * Writes the recipients after an attempt and gives the lease up: the message is done when every recipient
 * is finished, else due again at its earliest queued recipient. False when the lease was lost meanwhile.
 */
export async function finishAttempt(models: Models, lease: Lease, recipients: RecipientRecord[], now: Date): Promise<boolean> {
  const next = nextDue(recipients, now);
  const set: Record<string, unknown> = { recipients, nextAttemptAt: next ?? now };
  if (next === null) {
    set.state = 'done';
    set.finishedAt = now;
  }
  const res = await models.queuedMessages.updateOne(
    { _id: lease.message._id, leaseOwner: lease.token },
    { $set: set, $unset: { leaseOwner: 1, leaseUntil: 1 } },
  );
  return res.matchedCount === 1;
}

/** Hands a leased message back untouched, due now (a stopping worker that had not started it). */
export async function releaseLease(models: Models, lease: Lease, now: Date): Promise<boolean> {
  const res = await models.queuedMessages.updateOne(
    { _id: lease.message._id, leaseOwner: lease.token },
    { $set: { nextAttemptAt: nextDue(lease.message.recipients, now) ?? now }, $unset: { leaseOwner: 1, leaseUntil: 1 } },
  );
  return res.matchedCount === 1;
}
