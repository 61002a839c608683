// The surge job's history, as the relay sees it: per account and clock hour, recipients accepted (with the
// client networks) and recipients or senders refused. Neither is part of accepting a message: a lost count
// only blunts an alert, so nothing here waits or fails a client. Both are summed in memory and written on a
// timer, one upsert per account and hour: the history adds no database command to a message, and an attacker
// hammering a rate limit costs a write per interval, not one per refused recipient.
import { LRUCache } from 'lru-cache';
import { hourOf, networkOf, type SmtpPrincipal } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { DomainContext } from '../domain/index.ts';

interface HourTally {
  accountId: string;
  workspaceId: string;
  hour: Date;
  n: number;
  networks: Set<string>;
}

type CountDeps = { ctx: DomainContext; log: Logger };

/** Tallies summed at most at once: past this, the least recently counted is written early (never dropped). */
const MAX_PENDING_TALLIES = 10_000;

/**
 * Sums per account and hour; `write` stores one tally. The sums are an lru-cache whose TTL is the flush interval:
 * a tally is written when it expires (flushMs after its first count), when it is pushed out by
 * MAX_PENDING_TALLIES newer ones, or by flush().
 */
class HourlyTallies {
  private readonly pending: LRUCache<string, HourTally>;
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly deps: CountDeps,
    private readonly kind: 'accepted' | 'refused',
    private readonly write: (t: HourTally) => Promise<void>,
    flushMs: number,
  ) {
    this.pending = new LRUCache<string, HourTally>({
      max: MAX_PENDING_TALLIES,
      ttl: flushMs,
      ttlAutopurge: true,
      // Counting into a tally does not postpone its write.
      noUpdateTTL: true,
      dispose: (tally, _key, reason) => {
        if (reason === 'expire' || reason === 'evict') this.store(tally);
      },
    });
  }

  add(p: SmtpPrincipal, n: number, at: Date, network?: string | null): void {
    const hour = hourOf(at);
    const key = `${p.accountId}:${hour.toISOString()}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { accountId: p.accountId, workspaceId: p.workspaceId, hour, n: 0, networks: new Set<string>() };
      this.pending.set(key, entry);
    }
    entry.n += n;
    if (network && entry.networks.size < 200) entry.networks.add(network);
  }

  /** Writes every pending tally now and waits for every write under way (shutdown). */
  async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending.clear(); // dispose reason 'delete': not written twice
    for (const t of batch) this.store(t);
    await Promise.all([...this.writing]);
  }

  private store(t: HourTally): void {
    const w = this.write(t)
      .catch((err: unknown) => {
        this.deps.log.warn({ err, code: 'RELAY_HOURLY_COUNT_FAILED', accountId: t.accountId, kind: this.kind }, 'hourly count not recorded (surge history)');
      })
      .finally(() => this.writing.delete(w));
    this.writing.add(w);
  }
}

/** Accepted recipients and the client networks they came from, written every second. */
export class AcceptedHourCounter {
  private readonly tallies: HourlyTallies;
  constructor(deps: CountDeps, flushMs = 1_000) {
    this.tallies = new HourlyTallies(deps, 'accepted', (t) => deps.ctx.accountHours.recordAcceptedHour(t.accountId, t.workspaceId, t.hour, t.n, [...t.networks]), flushMs);
  }
  add(p: SmtpPrincipal, recipients: number, clientIp: string, at: Date): void {
    this.tallies.add(p, recipients, at, networkOf(clientIp));
  }
  flush(): Promise<void> {
    return this.tallies.flush();
  }
}

/** Refused recipients and senders, written every 10 s. */
export class RefusalCounter {
  private readonly tallies: HourlyTallies;
  constructor(
    private readonly deps: CountDeps,
    flushMs = 10_000,
  ) {
    this.tallies = new HourlyTallies(deps, 'refused', (t) => deps.ctx.accountHours.recordRefusedHour(t.accountId, t.workspaceId, t.hour, t.n), flushMs);
  }
  add(p: SmtpPrincipal | undefined, n = 1): void {
    if (p && n > 0) this.tallies.add(p, n, this.deps.ctx.clock());
  }
  flush(): Promise<void> {
    return this.tallies.flush();
  }
}
