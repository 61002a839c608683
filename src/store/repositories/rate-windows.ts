import type { RateWindowRepository } from '../../domain/rate-limit.ts';
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export const rateWindowId = (accountId: string, windowStart: Date) => `${accountId}:${windowStart.toISOString()}`;

export function rateWindowRepository(m: Models): RateWindowRepository {
  const W = m.rateWindows;
  return {
    async take(accountId, windowStart, n, limit, expiresAt) {
      if (n > limit) return false;
      // Matches only while the count leaves room for n. When it does not, the upsert tries to insert a second
      // document with the same _id and fails with a duplicate key: that failure is the refusal. One command,
      // atomic on every MongoDB-wire server, no read before.
      try {
        await W.updateOne({ _id: rateWindowId(accountId, windowStart), count: { $lte: limit - n } }, { $inc: { count: n }, $setOnInsert: { expiresAt } }, { upsert: true });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    async prune(before) {
      const res = await W.deleteMany({ expiresAt: { $lt: before } });
      return res.deletedCount ?? 0;
    },
  };
}
