// The queue as `smtpdesk queue` sees it: listing, one message, and the two admin changes (retry now, purge).
// A change to a message takes it the way a delivery worker does, with a short lease guarded like theirs,
// so it never races a worker: a message a worker is delivering at that moment is left alone and counted.
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { Models } from '../models/index.ts';
import type { QueueChange, QueuedMessageView, QueuedRecipientView } from '../../domain/queue-model.ts';
import type { QueueReader } from '../../domain/ports.ts';

type Row = {
  _id: Types.ObjectId;
  workspaceId: string;
  accountId: string;
  username: string;
  kind?: string | null;
  envelope?: { from?: string | null } | null;
  recipients: {
    address: string;
    domain?: string;
    status: QueuedRecipientView['status'];
    attempts: number;
    nextAttemptAt?: Date | null;
    lastAttemptAt?: Date | null;
    lastError?: string | null;
    finishedAt?: Date | null;
    response?: string | null;
  }[];
  state: 'queued' | 'done';
  size: number;
  messageId?: string | null;
  subject?: string | null;
  createdAt: Date;
  nextAttemptAt: Date;
  finishedAt?: Date | null;
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  leaseCount?: number | null;
  bodyRemovedAt?: Date | null;
};

const ADMIN_LEASE_MS = 30_000;

function toView(r: Row): QueuedMessageView {
  const v: QueuedMessageView = {
    id: r._id.toHexString(),
    workspaceId: r.workspaceId,
    accountId: r.accountId,
    username: r.username,
    kind: r.kind === 'bounce' ? 'bounce' : 'message',
    from: r.envelope?.from ?? '',
    recipients: r.recipients.map((x) => {
      const rv: QueuedRecipientView = { address: x.address, status: x.status, attempts: x.attempts };
      if (x.nextAttemptAt && x.status === 'queued') rv.nextAttemptAt = x.nextAttemptAt;
      if (x.lastAttemptAt) rv.lastAttemptAt = x.lastAttemptAt;
      if (x.lastError) rv.lastError = x.lastError;
      if (x.finishedAt) rv.finishedAt = x.finishedAt;
      if (x.response) rv.response = x.response;
      return rv;
    }),
    state: r.state,
    size: r.size,
    createdAt: r.createdAt,
    nextAttemptAt: r.nextAttemptAt,
    leaseCount: r.leaseCount ?? 0,
  };
  if (r.messageId) v.messageId = r.messageId;
  if (r.subject) v.subject = r.subject;
  if (r.finishedAt) v.finishedAt = r.finishedAt;
  if (r.leaseOwner) v.leaseOwner = r.leaseOwner;
  if (r.leaseUntil) v.leaseUntil = r.leaseUntil;
  if (r.bodyRemovedAt) v.bodyRemovedAt = r.bodyRemovedAt;
  return v;
}

export function queueAdmin(m: Models): Omit<QueueReader, 'countQueuedForAccount'> {
  const Q = m.queuedMessages;

  /**
   * Takes each of the account's queued messages that no worker holds, applies `change` to its recipients,
   * and gives it back; returns what changed.
   */
  async function changeQueued(
    workspaceId: string,
    accountId: string,
    at: Date,
    change: (recipients: Row['recipients']) => { recipients: Row['recipients']; changed: number; done: boolean },
  ): Promise<QueueChange> {
    const result: QueueChange = { messages: 0, recipients: 0, noticeRecipients: 0, inFlight: 0 };
    const ids = await Q.find({ accountId, workspaceId, state: 'queued' }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>();
    const token = `admin#${randomBytes(6).toString('hex')}`;
    const until = new Date(at.getTime() + ADMIN_LEASE_MS);
    for (const { _id } of ids) {
      const row = await Q.findOneAndUpdate(
        { _id, state: 'queued', $or: [{ leaseUntil: null }, { leaseUntil: { $lte: at } }] },
        { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: until } },
        { new: true },
      ).lean<Row>();
      if (!row) {
        if (await Q.exists({ _id, state: 'queued' })) result.inFlight++;
        continue;
      }
      const next = change(row.recipients);
      const set: Record<string, unknown> = { recipients: next.recipients };
      if (next.done) {
        set.state = 'done';
        set.finishedAt = at;
        set.nextAttemptAt = at;
      } else {
        set.nextAttemptAt = earliest(next.recipients, at);
      }
      const res = await Q.updateOne({ _id, leaseOwner: token }, { $set: set, $unset: { leaseOwner: 1, leaseUntil: 1 } });
      if (res.matchedCount !== 1 || next.changed === 0) continue;
      result.messages++;
      if (row.kind === 'bounce') result.noticeRecipients += next.changed;
      else result.recipients += next.changed;
    }
    return result;
  }

  return {
    async listMessages(filter) {
      const q: Record<string, unknown> = { workspaceId: filter.workspaceId };
      if (filter.accountId) q.accountId = filter.accountId;
      if (filter.state) q.state = filter.state;
      const rows = await Q.find(q).sort({ createdAt: -1 }).limit(filter.limit).lean<Row[]>();
      return rows.map(toView);
    },
    async findMessage(workspaceId, id) {
      if (!Types.ObjectId.isValid(id)) return null;
      const row = await Q.findOne({ _id: new Types.ObjectId(id), workspaceId }).lean<Row>();
      return row ? toView(row) : null;
    },
    makeDueNow(workspaceId, accountId, at) {
      return changeQueued(workspaceId, accountId, at, (recipients) => {
        let changed = 0;
        const next = recipients.map((r) => {
          if (r.status !== 'queued') return r;
          if (r.nextAttemptAt && r.nextAttemptAt.getTime() > at.getTime()) changed++;
          return { ...r, nextAttemptAt: at };
        });
        return { recipients: next, changed, done: false };
      });
    },
    failQueued(workspaceId, accountId, { at, reason }) {
      return changeQueued(workspaceId, accountId, at, (recipients) => {
        let changed = 0;
        const next = recipients.map((r) => {
          if (r.status !== 'queued') return r;
          changed++;
          return { ...r, status: 'failed' as const, lastError: reason, finishedAt: at, nextAttemptAt: null };
        });
        return { recipients: next, changed, done: true };
      });
    },
  };
}

function earliest(recipients: Row['recipients'], at: Date): Date {
  let t: number | null = null;
  for (const r of recipients) {
    if (r.status !== 'queued') continue;
    const v = r.nextAttemptAt ? r.nextAttemptAt.getTime() : at.getTime();
    t = t === null ? v : Math.min(t, v);
  }
  return new Date(t ?? at.getTime());
}
