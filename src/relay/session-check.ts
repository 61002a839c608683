// The check before each MAIL FROM that the session's account is still active with the credentials it
// authenticated with. Concurrent checks share one read, and an answer is reused for RELAY_SESSION_CHECK_CACHE_MS
// (default 1 s) unless a change in this process says otherwise: a disable made on another instance is seen at
// MAIL FROM within that time, and the group commit re-reads the accounts of every batch, so no message of a
// disabled account is accepted once the commit has read the disable.
import { LRUCache } from 'lru-cache';
import { sessionVerdict, type DomainContext, type SessionAccountState, type SmtpPrincipal, type SmtpSessionCheck } from '../domain/index.ts';
import { lruClock } from '../shared/lru-clock.ts';
import { withDeadline } from './deadline.ts';

type AccountState = SessionAccountState | null;

export interface SessionChecker {
  check(principal: SmtpPrincipal): Promise<SmtpSessionCheck>;
  /** Forgets what is known of an account (a change made in this process). */
  invalidate(accountId: string): void;
}

export interface SessionCheckerOptions {
  ttlMs: number;
  timeoutMs: number;
  /** Accounts remembered at most (least recently used go first). */
  maxAccounts?: number;
  now?: () => number;
}

export function createSessionChecker(ctx: DomainContext, opts: SessionCheckerOptions): SessionChecker {
  const max = opts.maxAccounts ?? 50_000;
  // An account's state is boxed: lru-cache holds no null, and a deleted account is known as null.
  const known = new LRUCache<string, { state: AccountState; generation: number }>({ max, ttl: Math.max(1, opts.ttlMs), ...lruClock(opts.now) });
  // The last invalidation of each account, as a number from one counter (never reused): a read compares it before
  // and after, so an answer that raced a change is not kept. Needed only while such a read can be in flight, so it
  // lives twice the read's deadline; an entry dropped early reads as 0, which differs from any change it raced.
  const generations = new LRUCache<string, number>({ max, ttl: Math.max(opts.timeoutMs, opts.ttlMs) * 2, ...lruClock(opts.now) });
  let lastGeneration = 0;
  let waiting = new Map<string, ((state: AccountState | Error) => void)[]>();
  let reading = false;

  async function readAll(): Promise<void> {
    reading = true;
    try {
      while (waiting.size) {
        const batch = waiting;
        waiting = new Map();
        const ids = [...batch.keys()];
        const started = new Map(ids.map((id) => [id, generations.get(id) ?? 0]));
        try {
          const found = new Map((await withDeadline(ctx.accounts.findManyById(ids), opts.timeoutMs, 'read accounts')).map((a) => [a.id, a]));
          for (const id of ids) {
            const a = found.get(id);
            // The sending policy and a kept old password travel with the state (the relay enforces them per message).
            const state: AccountState = a
              ? { status: a.status, credentialVersion: a.credentialVersion, previousPassword: a.previousPassword, allowedSenders: a.allowedSenders, rateLimit: a.rateLimit }
              : null;
            // A change heard while this read was in flight makes its answer too old to keep.
            // RELAY_SESSION_CHECK_CACHE_MS=0: every MAIL FROM reads (lru-cache would read a TTL of 0 as "for ever").
            if (opts.ttlMs > 0 && (generations.get(id) ?? 0) === started.get(id)) known.set(id, { state, generation: started.get(id)! });
            for (const cb of batch.get(id)!) cb(state);
          }
        } catch (err) {
          for (const cbs of batch.values()) for (const cb of cbs) cb(err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      reading = false;
    }
  }

  function load(id: string): Promise<AccountState> {
    return new Promise((resolve, reject) => {
      const cbs = waiting.get(id) ?? [];
      cbs.push((s) => (s instanceof Error ? reject(s) : resolve(s)));
      waiting.set(id, cbs);
      if (!reading) void readAll();
    });
  }

  return {
    async check(principal) {
      const hit = known.get(principal.accountId);
      const fresh = hit && hit.generation === (generations.get(principal.accountId) ?? 0);
      return sessionVerdict(fresh ? hit.state : await load(principal.accountId), principal, ctx.clock());
    },
    invalidate(accountId) {
      generations.set(accountId, ++lastGeneration);
      known.delete(accountId);
    },
  };
}
