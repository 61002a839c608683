// What arrives later about delivered mail (src/domain/later-outcomes.ts), stored. A later bounce or complaint
// is counted through the message ledger (src/store/ledger) as a 'correction' batch: the batch is opened
// first, the recipient's change lands on the queue document with the batch id in `outcomeBatches` in one
// conditional update (which is also what makes the same report twice count once), then the counters
// are applied under the batch's marker. A process killed in between leaves the batch to the ledger's
// recovery loop (one per process), which counts exactly the changes that landed.
//
// What arrived later is kept in the message's top-level `later.<recipient index>` (not inside `recipients`,
// which the worker rewrites whole), and mirrored in the recipient's status while no worker holds the message.
import { mongo } from 'mongoose';
import type { LaterApply, LaterEntry, LaterOutcomeRepository, LaterOutcomes, ReportCounts, ReportTarget, UnmatchedReport } from '../domain/report-model.ts';
import type { Logger } from '../log.ts';
import { accountDayId, type Ledger } from './ledger/index.ts';
import type { Models } from './models/index.ts';

type Doc = mongo.Document;

function targetsOf(d: Doc): ReportTarget[] {
  const recipients = (d.recipients as Doc[] | undefined) ?? [];
  return recipients.map((r, i) => ({
    queueId: (d._id as mongo.ObjectId).toHexString(),
    recipient: i,
    address: String(r.address),
    workspaceId: String(d.workspaceId),
    accountId: String(d.accountId),
    kind: d.kind === 'bounce' ? 'bounce' : 'message',
    status: r.status as ReportTarget['status'],
    ...(r.finishedAt ? { finishedAt: r.finishedAt as Date } : {}),
  }));
}

const PROJECTION = { workspaceId: 1, accountId: 1, kind: 1, recipients: 1 } as const;

/** `deps` (the process's ledger, e.g. the runtime) is needed only to apply a later bounce or complaint. */
export function laterOutcomeRepository(models: Models, deps?: { ledger: Pick<Ledger, 'recordOutcomes'>; log: Logger }): LaterOutcomeRepository {
  const messages = models.queuedMessages.collection as unknown as mongo.Collection<Doc>;
  const reports = models.bounceReports.collection as unknown as mongo.Collection<Doc>;
  const usage = models.monthlyUsage.collection as unknown as mongo.Collection<Doc>;

  /**
   * One correction batch of the ledger for one change: the batch is opened, `set` lands under `filter` (and
   * pushes the batch id, which recovery checks), then the counters move; false when the filter matched nothing.
   */
  async function countOnce(target: ReportTarget, delta: Record<string, number>, at: Date, filter: Doc, set: Doc): Promise<boolean> {
    if (!deps) throw new Error('laterOutcomeRepository: applying a later outcome needs the ledger');
    const { ledger, log } = deps;
    // The change counts in the day (and month) the recipient's first outcome was counted in.
    const countedAt = target.finishedAt ?? at;
    let landed = false;
    await ledger.recordOutcomes(
      {
        kind: 'correction',
        entries: [{ id: target.queueId, workspaceId: target.workspaceId, accountId: target.accountId, at: countedAt, delta }],
        async write(batchId) {
          const res = await messages.updateOne({ ...filter, outcomeBatches: { $ne: batchId } }, { $set: set, $push: { outcomeBatches: batchId } } as Doc);
          return new Set(res.matchedCount === 1 ? [target.queueId] : []);
        },
      },
      (ids) => {
        landed = ids.size > 0;
      },
      log,
    );
    return landed;
  }

  /** Why a conditional later change matched nothing. */
  async function whyNot(target: ReportTarget, field: 'bounced' | 'complained', now: Date): Promise<LaterApply> {
    const d = await messages.findOne({ _id: new mongo.ObjectId(target.queueId) }, { projection: { later: 1, leaseUntil: 1, recipients: 1 } });
    if (!d) return 'missing';
    const later = (d.later as Record<string, Record<string, unknown>> | undefined)?.[String(target.recipient)];
    if (later?.[field]) return 'duplicate';
    if (d.leaseUntil && (d.leaseUntil as Date).getTime() > now.getTime()) return 'busy';
    return 'not_delivered';
  }

  return {
    async recipientsOf(queueId) {
      if (!/^[0-9a-f]{24}$/i.test(queueId)) return null;
      const d = await messages.findOne({ _id: new mongo.ObjectId(queueId) }, { projection: PROJECTION });
      return d ? targetsOf(d) : null;
    },
    async recipientsByMessageId(messageId) {
      // No index but _id on FerretDB: a scan, only for the rare report whose return path was unusable.
      const d = await messages.find({ messageId }, { projection: PROJECTION, sort: { createdAt: -1 }, limit: 1 }).next();
      return d ? targetsOf(d) : [];
    },
    async applyBounce(target, entry) {
      const i = target.recipient;
      const filter = {
        _id: new mongo.ObjectId(target.queueId),
        [`recipients.${i}.status`]: 'delivered',
        [`later.${i}.bounced`]: { $exists: false },
        // A worker holding the message would write its recipients back over ours: the sender retries (451).
        $or: [{ leaseUntil: null }, { leaseUntil: { $lte: entry.at } }],
      };
      const lastError = `bounced after delivery: ${entry.status} ${entry.diagnostic ?? ''}`.trim().slice(0, 500);
      const set = { [`later.${i}.bounced`]: entry, [`recipients.${i}.status`]: 'bounced', [`recipients.${i}.lastError`]: lastError };
      if (await countOnce(target, { delivered: -1, bounced: 1 }, entry.at, filter, set)) return 'applied';
      return whyNot(target, 'bounced', entry.at);
    },
    async recordTransient(target, entry) {
      await messages.updateOne({ _id: new mongo.ObjectId(target.queueId) }, { $set: { [`later.${target.recipient}.transient`]: entry } });
    },
    async applyComplaint(target, entry) {
      const i = target.recipient;
      const filter = { _id: new mongo.ObjectId(target.queueId), [`later.${i}.complained`]: { $exists: false } };
      if (await countOnce(target, { complaints: 1 }, entry.at, filter, { [`later.${i}.complained`]: entry })) return 'applied';
      return whyNot(target, 'complained', entry.at);
    },
    async laterOutcomes(queueId) {
      const out = new Map<number, LaterOutcomes>();
      if (!/^[0-9a-f]{24}$/i.test(queueId)) return out;
      const d = await messages.findOne({ _id: new mongo.ObjectId(queueId) }, { projection: { later: 1 } });
      for (const [k, v] of Object.entries((d?.later as Record<string, Doc> | undefined) ?? {})) {
        const o: LaterOutcomes = {};
        if (v.bounced) o.bounced = v.bounced as LaterEntry;
        if (v.transient) o.transient = v.transient as LaterEntry;
        if (v.complained) o.complained = v.complained as LaterOutcomes['complained'];
        out.set(Number(k), o);
      }
      return out;
    },
    async keepUnmatched(report) {
      await reports.insertOne({ ...report });
    },
    async listUnmatched(limit) {
      const rows = await reports.find({}, { sort: { at: -1 }, limit: Math.min(Math.max(limit, 1), 1000) }).toArray();
      return rows.map((r) => ({
        at: r.at as Date,
        rcptTo: String(r.rcptTo),
        ...(r.clientIp ? { clientIp: String(r.clientIp) } : {}),
        type: r.type as UnmatchedReport['type'],
        reason: String(r.reason),
        ...(r.originalMessageId ? { originalMessageId: String(r.originalMessageId) } : {}),
        recipients: (r.recipients as string[] | undefined) ?? [],
        size: Number(r.size ?? 0),
      }));
    },
    countUnmatched() {
      return reports.countDocuments({});
    },
    async reportCounts(accountIds, days) {
      const out = new Map<string, ReportCounts>();
      if (!accountIds.length || !days.length) return out;
      const ids = accountIds.flatMap((a) => days.map((d) => accountDayId(a, d)));
      const rows = await usage
        .find({ _id: { $in: ids as unknown as mongo.ObjectId[] } }, { projection: { accountId: 1, delivered: 1, bounced: 1, failed: 1, complaints: 1 } })
        .toArray();
      for (const r of rows) {
        const id = String(r.accountId);
        const c = out.get(id) ?? { delivered: 0, bounced: 0, failed: 0, complaints: 0 };
        c.delivered += Number(r.delivered ?? 0);
        c.bounced += Number(r.bounced ?? 0);
        c.failed += Number(r.failed ?? 0);
        c.complaints += Number(r.complaints ?? 0);
        out.set(id, c);
      }
      return out;
    },
  };
}
