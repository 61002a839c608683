import type { Models } from '../models/index.ts';
import type { UsageRepository } from '../../domain/ports.ts';
import type { DeliveryCounters, MonthlyUsage } from '../../domain/model.ts';
import { isDuplicateKeyError } from '../connection.ts';

const workspaceDocId = (workspaceId: string, month: string) => `${month}:ws:${workspaceId}`;
const accountDocId = (accountId: string, month: string) => `${month}:acct:${accountId}`;
const accountDayDocId = (accountId: string, day: string) => `${day}:day:${accountId}`;

export function usageRepository(m: Models): UsageRepository {
  const U = m.monthlyUsage;

  async function ensureWorkspaceMonth(workspaceId: string, month: string) {
    try {
      await U.updateOne({ _id: workspaceDocId(workspaceId, month) }, { $setOnInsert: { scope: 'workspace', workspaceId, month, sent: 0 } }, { upsert: true });
    } catch (err) {
      // Two first senders of the month may both upsert; one wins, the other's document is there.
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  return {
    async workspaceSent(workspaceId, month) {
      const row = await U.findById(workspaceDocId(workspaceId, month), { sent: 1 }).lean<{ sent?: number }>();
      return row?.sent ?? 0;
    },
    async reserveWorkspaceEmails(workspaceId, month, emails, quota) {
      if (emails > quota) return false;
      // One conditional $inc: the check and the reservation are a single atomic step.
      const reserve = () => U.findOneAndUpdate({ _id: workspaceDocId(workspaceId, month), sent: { $lte: quota - emails } }, { $inc: { sent: emails } }, { new: true }).lean();
      if ((await reserve()) !== null) return true;
      // No room, or no document yet for this month (its first message): create it, then try once more.
      // (Creating it only here saves the relay a write on every other message.)
      await ensureWorkspaceMonth(workspaceId, month);
      return (await reserve()) !== null;
    },
    async releaseWorkspaceEmails(workspaceId, month, emails) {
      await U.updateOne({ _id: workspaceDocId(workspaceId, month) }, { $inc: { sent: -emails } });
    },
    async addAccountMonth(workspaceId, accountId, month, delta) {
      const inc: Record<string, number> = {};
      for (const [k, v] of Object.entries(delta)) if (v) inc[k] = v;
      if (!Object.keys(inc).length) return;
      const filter = { _id: accountDocId(accountId, month) };
      const update = { $inc: inc, $setOnInsert: { scope: 'account', workspaceId, accountId, month } };
      try {
        await U.updateOne(filter, update, { upsert: true });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        await U.updateOne(filter, { $inc: inc });
      }
    },
    async addAccountDay(workspaceId, accountId, day, delta) {
      const inc: Record<string, number> = {};
      for (const [k, v] of Object.entries(delta)) if (v) inc[k] = v;
      if (!Object.keys(inc).length) return;
      const filter = { _id: accountDayDocId(accountId, day) };
      const update = { $inc: inc, $setOnInsert: { scope: 'account-day', workspaceId, accountId, day, month: day.slice(0, 7) } };
      try {
        await U.updateOne(filter, update, { upsert: true });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        await U.updateOne(filter, { $inc: inc });
      }
    },
    async accountDays(accountIds, days) {
      const out = new Map<string, Map<string, DeliveryCounters>>();
      if (!accountIds.length || !days.length) return out;
      // Deterministic _ids: FerretDB answers this from the _id index alone.
      const ids = accountIds.flatMap((a) => days.map((d) => accountDayDocId(a, d)));
      const rows = await U.find({ _id: { $in: ids } }).lean<(Partial<DeliveryCounters> & { accountId: string; day: string })[]>();
      for (const r of rows) {
        let perDay = out.get(r.accountId);
        if (!perDay) out.set(r.accountId, (perDay = new Map<string, DeliveryCounters>()));
        perDay.set(r.day, { sent: r.sent ?? 0, delivered: r.delivered ?? 0, bounced: r.bounced ?? 0, deferred: r.deferred ?? 0, failed: r.failed ?? 0 });
      }
      return out;
    },
    async accountMonths(workspaceId, month) {
      const rows = await U.find({ workspaceId, month, scope: 'account' }).lean<(Partial<MonthlyUsage> & { accountId: string; month: string })[]>();
      return new Map(
        rows.map((r) => [
          r.accountId,
          { month: r.month, sent: r.sent ?? 0, delivered: r.delivered ?? 0, bounced: r.bounced ?? 0, deferred: r.deferred ?? 0, failed: r.failed ?? 0 },
        ]),
      );
    },
  };
}
