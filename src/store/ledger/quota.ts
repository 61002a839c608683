// The workspace's monthly quota as a counter document: a reservation is one conditional $inc that also
// records its batch marker, so it can be told apart (and given back) by whoever finishes the batch.
import { isDuplicateKeyError } from '../connection.ts';
import { stringId } from '../queue/record.ts';
import type { CounterCollections, MarkerSweeper } from './counters.ts';
import { workspaceMonthId } from './markers.ts';

export function quotaCounters(c: CounterCollections, sweeper: MarkerSweeper) {
  async function ensureMonth(workspaceId: string, month: string, opts: { timeoutMS?: number }): Promise<void> {
    try {
      await c.usage.updateOne(
        { _id: stringId(workspaceMonthId(workspaceId, month)) },
        { $setOnInsert: { scope: 'workspace', workspaceId, month, sent: 0 } },
        { upsert: true, ...opts },
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
  return {
    /**
     * Reserves `emails` of the quota under the marker `field` (e.g. "cb.<batch>"), if the month's total stays
     * within `quota`. False when it does not fit (or was reserved under this marker before).
     */
    async reserve(workspaceId: string, month: string, emails: number, quota: number, field: string, opts: { timeoutMS?: number } = {}): Promise<boolean> {
      if (emails > quota) return false;
      const key = workspaceMonthId(workspaceId, month);
      const id = stringId(key);
      const attempt = async () => {
        const unset = sweeper.take('usage', key);
        const update: Record<string, unknown> = { $inc: { sent: emails }, $set: { [field]: emails } };
        if (unset) update.$unset = unset;
        const res = await c.usage.updateOne({ _id: id, sent: { $lte: quota - emails }, [field]: { $exists: false } }, update, opts);
        if (res.matchedCount === 1) return true;
        if (unset) sweeper.add('usage', key, Object.keys(unset));
        return false;
      };
      if (await attempt()) return true;
      // No room, or no document yet for this month (its first message): create it, then try once more.
      if (await c.usage.findOne({ _id: id }, { projection: { _id: 1 }, ...opts })) return false;
      await ensureMonth(workspaceId, month, opts);
      return attempt();
    },
    /** Gives `emails` back, once per `field`. */
    async release(workspaceId: string, month: string, emails: number, field: string): Promise<void> {
      if (emails <= 0) return;
      await c.usage.updateOne({ _id: stringId(workspaceMonthId(workspaceId, month)), [field]: { $exists: false } }, { $inc: { sent: -emails }, $set: { [field]: -emails } });
    },
    /** The month's document: emails used and the batch markers on it. */
    async read(workspaceId: string, month: string, opts: { timeoutMS?: number } = {}): Promise<{ sent: number; markers: Record<string, number> }> {
      const doc = await c.usage.findOne({ _id: stringId(workspaceMonthId(workspaceId, month)) }, { projection: { sent: 1, cb: 1 }, ...opts });
      return { sent: Number(doc?.sent ?? 0), markers: (doc?.cb as Record<string, number> | undefined) ?? {} };
    },
  };
}

export type QuotaCounters = ReturnType<typeof quotaCounters>;
