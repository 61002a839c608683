// The queue as `smtpdesk queue` sees it: listing, one message, and the two admin changes (retry now, purge).
// A change to a message takes it the way a delivery worker does, with a short lease guarded like theirs,
// so it never races a worker: a message a worker is delivering at that moment is left alone and counted.
import { randomBytes } from 'node:crypto';
import type { QueueChange, QueueListFilter, QueuedMessage, QueuedRecipient } from '../../domain/queue-model.ts';
import { isQueueId, nextDue, oid, recipientDoc, recordOf, WITHOUT_BODY, type QueueCollections } from './record.ts';

const ADMIN_LEASE_MS = 30_000;

type RecipientChange = (recipients: QueuedRecipient[]) => { recipients: QueuedRecipient[]; changed: number; done: boolean };

export function administering(c: QueueCollections) {
  /** Takes each of the account's queued messages that no worker holds, applies `change`, gives it back. */
  async function changeQueued(workspaceId: string, accountId: string, at: Date, change: RecipientChange): Promise<QueueChange> {
    const result: QueueChange = { messages: 0, recipients: 0, noticeRecipients: 0, inFlight: 0 };
    const ids = await c.messages.find({ accountId, workspaceId, state: 'queued' }, { projection: { _id: 1 } }).toArray();
    const token = `admin#${randomBytes(6).toString('hex')}`;
    const until = new Date(at.getTime() + ADMIN_LEASE_MS);
    for (const { _id } of ids) {
      const doc = await c.messages.findOneAndUpdate(
        { _id, state: 'queued', $or: [{ leaseUntil: null }, { leaseUntil: { $lte: at } }] },
        { $set: { leaseOwner: token, leaseUntil: until, nextAttemptAt: until } },
        { returnDocument: 'after' },
      );
      if (!doc) {
        if (await c.messages.findOne({ _id, state: 'queued' }, { projection: { _id: 1 } })) result.inFlight++;
        continue;
      }
      const record = recordOf(doc);
      const next = change(record.recipients);
      const set: Record<string, unknown> = { recipients: next.recipients.map(recipientDoc) };
      if (next.done) Object.assign(set, { state: 'done', finishedAt: at, nextAttemptAt: at });
      else set.nextAttemptAt = nextDue(next.recipients, at) ?? at;
      const res = await c.messages.updateOne({ _id, leaseOwner: token }, { $set: set, $unset: { leaseOwner: '', leaseUntil: '' } });
      if (res.matchedCount !== 1 || next.changed === 0) continue;
      result.messages++;
      if (record.kind === 'bounce') result.noticeRecipients += next.changed;
      else result.recipients += next.changed;
    }
    return result;
  }

  return {
    /** Messages accepted for the account and not yet finished. */
    countQueuedForAccount(accountId: string): Promise<number> {
      return c.messages.countDocuments({ accountId, state: 'queued' });
    },
    /** Newest first. */
    async listMessages(filter: QueueListFilter): Promise<QueuedMessage[]> {
      const q: Record<string, unknown> = { workspaceId: filter.workspaceId };
      if (filter.accountId) q.accountId = filter.accountId;
      if (filter.state) q.state = filter.state;
      const rows = await c.messages.find(q, { projection: WITHOUT_BODY }).sort({ createdAt: -1 }).limit(filter.limit).toArray();
      return rows.map(recordOf);
    },
    async findMessage(workspaceId: string, id: string): Promise<QueuedMessage | null> {
      if (!isQueueId(id)) return null;
      const doc = await c.messages.findOne({ _id: oid(id), workspaceId }, { projection: WITHOUT_BODY });
      return doc ? recordOf(doc) : null;
    },
    /** Every queued recipient of the account's queued messages is due at `at` (messages being delivered are skipped). */
    makeDueNow(workspaceId: string, accountId: string, at: Date): Promise<QueueChange> {
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
    /** Fails every queued recipient of the account's queued messages with `reason` (messages being delivered are skipped). */
    failQueued(workspaceId: string, accountId: string, opts: { at: Date; reason: string }): Promise<QueueChange> {
      return changeQueued(workspaceId, accountId, opts.at, (recipients) => {
        let changed = 0;
        const next = recipients.map((r): QueuedRecipient => {
          if (r.status !== 'queued') return r;
          changed++;
          const { nextAttemptAt: _, ...rest } = r;
          return { ...rest, status: 'failed', lastError: opts.reason, finishedAt: opts.at };
        });
        return { recipients: next, changed, done: true };
      });
    },
  };
}
