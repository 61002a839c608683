// The check before each MAIL FROM that the session's account is still active with the credentials it
// authenticated with. Concurrent checks share one read, and an answer is reused for RELAY_SESSION_CHECK_CACHE_MS
// (default 1 s) unless a change in this process says otherwise: a disable made on another instance is seen at
// MAIL FROM within that time, and the group commit re-reads the accounts of every batch, so no message of a
// disabled account is accepted once the commit has read the disable.
import { sessionVerdict, type DomainContext, type SessionAccountState, type SmtpPrincipal, type SmtpSessionCheck } from '../domain/index.ts';
import { withDeadline } from './deadline.ts';

type AccountState = SessionAccountState | null;

export interface SessionChecker {
  check(principal: SmtpPrincipal): Promise<SmtpSessionCheck>;
  /** Forgets what is known of an account (a change made in this process). */
  invalidate(accountId: string): void;
}

export function createSessionChecker(ctx: DomainContext, opts: { ttlMs: number; timeoutMs: number; now?: () => number }): SessionChecker {
  const now = opts.now ?? Date.now;
  const known = new Map<string, { state: AccountState; at: number; generation: number }>();
  const generations = new Map<string, number>();
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
            if ((generations.get(id) ?? 0) === started.get(id)) known.set(id, { state, at: now(), generation: started.get(id)! });
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
      const fresh = hit && now() - hit.at < opts.ttlMs && hit.generation === (generations.get(principal.accountId) ?? 0);
      return sessionVerdict(fresh ? hit.state : await load(principal.accountId), principal, ctx.clock());
    },
    invalidate(accountId) {
      generations.set(accountId, (generations.get(accountId) ?? 0) + 1);
      known.delete(accountId);
    },
  };
}
