import type { RateWindowRepository } from '../../domain/rate-limit.ts';
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export const rateWindowId = (accountId: string, windowStart: Date) => `${accountId}:${windowStart.toISOString()}`;

export function rateWindowRepository(m: Models): RateWindowRepository {
  const W = m.rateWindows;
  return {
    async take(accountId, windowStart, n, limit, expiresAt) {
      if (n > limit) return false;
      // Matches only while the count leaves room for n; a window's first recipient creates the document. An
      // upsert that does not match tries to insert a second document with the same _id and fails with a
      // duplicate key: either the window is full, or two first recipients raced to create it (MongoDB runs
      // them side by side; the loser's insert collides). A plain conditional update tells the two apart.
      const filter = { _id: rateWindowId(accountId, windowStart), count: { $lte: limit - n } };
      try {
        await W.updateOne(filter, { $inc: { count: n }, $setOnInsert: { expiresAt } }, { upsert: true });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const res = await W.updateOne(filter, { $inc: { count: n } });
      return res.matchedCount === 1;
    },
    async prune(before) {
      const res = await W.deleteMany({ expiresAt: { $lt: before } });
      return res.deletedCount ?? 0;
    },
  };
}
