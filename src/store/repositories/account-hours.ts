import type { AccountHour, AccountHourRepository } from '../../domain/surge.ts';
import type { Models } from '../models/index.ts';

/** At most this many networks are kept per account-hour: enough to see a new one, bounded against a botnet. */
const MAX_NETWORKS = 200;

type Row = { _id: string; accountId: string; workspaceId: string; hour: Date; recipients?: number; refused?: number; networks?: string[] | null };

export const accountHourId = (accountId: string, hour: Date) => `${accountId}:${hour.toISOString()}`;

export function accountHourRepository(m: Models): AccountHourRepository {
  const H = m.accountHours;
  const upsert = (accountId: string, workspaceId: string, hour: Date, update: Record<string, unknown>, filter: Record<string, unknown> = {}) =>
    H.updateOne({ _id: accountHourId(accountId, hour), ...filter }, { ...update, $setOnInsert: { accountId, workspaceId, hour } }, { upsert: true });
  return {
    async recordAcceptedHour(accountId, workspaceId, hour, recipients, networks = []) {
      // With a network: only while the set has room (a full set does not match, the upsert then collides on
      // _id, and the fallback counts without the network). The same fallback covers two instances creating
      // the hour at once.
      const withNetwork = networks.length ? { $inc: { recipients }, $addToSet: { networks: { $each: networks } } } : { $inc: { recipients } };
      await upsert(accountId, workspaceId, hour, withNetwork, networks.length ? { [`networks.${MAX_NETWORKS - 1}`]: { $exists: false } } : {}).catch(async (err: unknown) => {
        if ((err as { code?: number }).code !== 11000) throw err;
        await H.updateOne({ _id: accountHourId(accountId, hour) }, { $inc: { recipients } });
      });
    },
    async recordRefusedHour(accountId, workspaceId, hour, refused) {
      await upsert(accountId, workspaceId, hour, { $inc: { refused } }).catch(async (err: unknown) => {
        if ((err as { code?: number }).code !== 11000) throw err;
        await H.updateOne({ _id: accountHourId(accountId, hour) }, { $inc: { refused } });
      });
    },
    async listSince(since, workspaceId) {
      const filter: Record<string, unknown> = { hour: { $gte: since } };
      if (workspaceId) filter.workspaceId = workspaceId;
      const rows = await H.find(filter).lean<Row[]>();
      return rows.map((r: Row): AccountHour => ({
        accountId: r.accountId,
        workspaceId: r.workspaceId,
        hour: r.hour,
        recipients: r.recipients ?? 0,
        refused: r.refused ?? 0,
        networks: [...(r.networks ?? [])],
      }));
    },
    async prune(before) {
      const res = await H.deleteMany({ hour: { $lt: before } });
      return res.deletedCount ?? 0;
    },
  };
}
