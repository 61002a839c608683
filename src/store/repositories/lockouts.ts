// Shared brute-force counters (see src/relay/shared-lockouts.ts): one document per address or username,
// changed only by atomic single-document updates, so failures spread over several relay instances add up.
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export type LockoutKind = 'address' | 'username';

export interface SharedCounter {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

export interface FailureWrite {
  counter: SharedCounter;
  /** This failure started the block (exactly one caller across instances sees true). */
  lockedNow: boolean;
}

export interface LockoutRepository {
  /** The counters of these keys (missing: none recorded). One read by _id. */
  read(keys: { kind: LockoutKind; key: string }[]): Promise<Map<string, SharedCounter>>;
  /** Counts one failure in the key's window (a new window when the last one is over) and blocks at `blockAfter`. */
  recordFailure(kind: LockoutKind, key: string, s: { now: number; windowMs: number; blockAfter: number; blockMs: number }): Promise<FailureWrite>;
  prune(before: Date): Promise<number>;
}

export const lockoutId = (kind: LockoutKind, key: string) => `${kind}:${key}`;

type Row = { _id: string; failures?: number; windowStart?: Date; blockedUntil?: Date };
const toCounter = (r: Row): SharedCounter => ({
  failures: r.failures ?? 0,
  windowStart: r.windowStart?.getTime() ?? 0,
  blockedUntil: r.blockedUntil?.getTime() ?? 0,
});

export function lockoutRepository(m: Models): LockoutRepository {
  const L = m.authLockouts;
  return {
    async read(keys) {
      const ids = keys.map((k) => lockoutId(k.kind, k.key));
      const rows = await L.find({ _id: { $in: ids } }).lean<Row[]>();
      return new Map(rows.map((r) => [r._id, toCounter(r)]));
    },
    async recordFailure(kind, key, s) {
      const _id = lockoutId(kind, key);
      const now = new Date(s.now);
      // In the current window: one $inc.
      let row = await L.findOneAndUpdate({ _id, windowStart: { $gt: new Date(s.now - s.windowMs) } }, { $inc: { failures: 1 } }, { new: true }).lean<Row>();
      if (!row) {
        // No window, or it is over: start one (a block in force is kept).
        try {
          row = await L.findOneAndUpdate(
            { _id },
            { $set: { failures: 1, windowStart: now }, $max: { expiresAt: new Date(s.now + s.windowMs) }, $setOnInsert: { blockedUntil: new Date(0) } },
            { new: true, upsert: true },
          ).lean<Row>();
        } catch (err) {
          // Another instance created it at the same moment: count in its window.
          if (!isDuplicateKeyError(err)) throw err;
          row = await L.findOneAndUpdate({ _id }, { $inc: { failures: 1 } }, { new: true }).lean<Row>();
        }
      }
      const counter = toCounter(row!);
      if (counter.failures < s.blockAfter || counter.blockedUntil > s.now) return { counter, lockedNow: false };
      const until = new Date(s.now + s.blockMs);
      const res = await L.updateOne({ _id, blockedUntil: { $lte: now } }, { $set: { blockedUntil: until }, $max: { expiresAt: until } });
      if (res.matchedCount === 1) return { counter: { ...counter, blockedUntil: until.getTime() }, lockedNow: true };
      // Another instance blocked it between the two updates: take its block.
      const fresh = await L.findById(_id).lean<Row>();
      return { counter: fresh ? toCounter(fresh) : counter, lockedNow: false };
    },
    async prune(before) {
      const res = await L.deleteMany({ expiresAt: { $lt: before } });
      return res.deletedCount ?? 0;
    },
  };
}
