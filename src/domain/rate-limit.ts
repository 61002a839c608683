// Rate limit of an account, in recipients per minute, hour or day, counted in fixed windows shared by every
// relay instance (one document per account and window, updated atomically: see RateWindowRepository).
import { DomainError } from './errors.ts';

export type RateUnit = 'm' | 'h' | 'd';
export interface RateLimit {
  /** Recipients allowed per window. */
  limit: number;
  per: RateUnit;
}

export const RATE_UNIT_MS: Record<RateUnit, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNIT_WORDS: Record<RateUnit, string> = { m: 'minute', h: 'hour', d: 'day' };
export const MAX_RATE_LIMIT = 10_000_000;

/** "100/h", "5/m", "20000/d" (also "100/hour"); "none" (or "") clears: returns null. */
export function parseRateLimit(input: string): RateLimit | null {
  const v = input.trim().toLowerCase();
  if (v === '' || v === 'none' || v === 'off') return null;
  const m = /^(\d+)\s*\/\s*(m|min|minute|h|hr|hour|d|day)$/.exec(v);
  const limit = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RATE_LIMIT) {
    throw new DomainError('INPUT.INVALID', `Not a rate limit: "${input}". Use recipients per minute, hour or day, e.g. 100/h, 5/m, 20000/d, or none.`, { value: input });
  }
  return { limit, per: m[2]![0] as RateUnit };
}

export function formatRateLimit(r: RateLimit | undefined): string {
  return r ? `${r.limit}/${r.per}` : 'none';
}

export function describeRateLimit(r: RateLimit | undefined): string {
  return r ? `${r.limit.toLocaleString('en-US')} recipients per ${UNIT_WORDS[r.per]}` : 'no limit';
}

/** The fixed window `at` falls in: its start and end (windows are aligned to the epoch, so UTC minutes/hours/days). */
export function rateWindow(r: RateLimit, at: Date): { start: Date; end: Date } {
  const ms = RATE_UNIT_MS[r.per];
  const start = Math.floor(at.getTime() / ms) * ms;
  return { start: new Date(start), end: new Date(start + ms) };
}

/** Shared counters of the windows. Implemented in src/store/repositories/rate-windows.ts. */
export interface RateWindowRepository {
  /**
   * Adds `n` to the account's count for the window starting at `windowStart` if the count stays within
   * `limit`; false (and nothing added) otherwise. One atomic single-document update.
   */
  take(accountId: string, windowStart: Date, n: number, limit: number, expiresAt: Date): Promise<boolean>;
  /** Drops windows that ended before `before` (housekeeping: no TTL indexes on FerretDB). */
  prune(before: Date): Promise<number>;
}

export type RateVerdict = { ok: true } | { ok: false; retryAt: Date; limit: RateLimit };

/** Takes `n` recipients of the account's current window; refuses when that would exceed the limit. */
export async function takeRecipients(repo: RateWindowRepository, accountId: string, r: RateLimit, n: number, at: Date): Promise<RateVerdict> {
  const w = rateWindow(r, at);
  if (await repo.take(accountId, w.start, n, r.limit, w.end)) return { ok: true };
  return { ok: false, retryAt: w.end, limit: r };
}
