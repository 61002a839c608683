// Shared brute-force counters (see src/relay/shared-lockouts.ts): one document per address, (username, address)
// pair, username or account (network refusals), changed only by atomic single-document updates, so failures
// spread over several relay instances add up; and the familiar addresses of each username.
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export type LockoutKind = 'address' | 'pair' | 'username' | 'network';

/** A username's last successful AUTH from one address. */
export interface FamiliarAddress {
  username: string;
  address: string;
  lastSuccessAt: Date;
}

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
  /** Notes a successful AUTH (kept until `keepUntil`); one upsert by _id. */
  recordSuccess(username: string, address: string, at: Date, keepUntil: Date): Promise<void>;
  /** When this username last authenticated from this address (null: never, or pruned). One read by _id. */
  lastSuccess(username: string, address: string): Promise<Date | null>;
  /** The most recent successful AUTH of each of these usernames (the credential report). */
  lastSuccesses(usernames: readonly string[]): Promise<Map<string, FamiliarAddress>>;
  /** Holds a key blocked until `until` without counting a failure (an alert marked "Expected"). */
  holdUntil(kind: LockoutKind, key: string, until: Date, now: Date): Promise<void>;
}

export const familiarId = (username: string, address: string) => `familiar:${username}|${address}`;

export const lockoutId = (kind: LockoutKind, key: string) => `${kind}:${key}`;

type Row = { _id: string; failures?: number; windowStart?: Date; blockedUntil?: Date; username?: string; address?: string; lastSuccessAt?: Date };
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
    async recordSuccess(username, address, at, keepUntil) {
      await L.updateOne({ _id: familiarId(username, address) }, { $set: { username, address }, $max: { lastSuccessAt: at, expiresAt: keepUntil } }, { upsert: true });
    },
    async lastSuccess(username, address) {
      const row = await L.findById(familiarId(username, address), { lastSuccessAt: 1 }).lean<Row>();
      return row?.lastSuccessAt ?? null;
    },
    async lastSuccesses(usernames) {
      const out = new Map<string, FamiliarAddress>();
      if (!usernames.length) return out;
      const rows = await L.find({ username: { $in: [...usernames] } }, { username: 1, address: 1, lastSuccessAt: 1 }).lean<Row[]>();
      for (const r of rows) {
        if (!r.username || !r.address || !r.lastSuccessAt) continue;
        const seen = out.get(r.username);
        if (!seen || seen.lastSuccessAt < r.lastSuccessAt) out.set(r.username, { username: r.username, address: r.address, lastSuccessAt: r.lastSuccessAt });
      }
      return out;
    },
    async holdUntil(kind, key, until, now) {
      await L.updateOne({ _id: lockoutId(kind, key) }, { $max: { blockedUntil: until, expiresAt: until }, $setOnInsert: { failures: 0, windowStart: now } }, { upsert: true });
    },
  };
}
