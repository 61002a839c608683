// Failed AUTHs counted per client address, per (username, address) pair and per username. Past `slowAfter`
// failures in the window the relay answers failures more and more slowly; past `blockAfter` it refuses AUTH
// with 454 4.7.0 for `blockMs`:
//   - an address lock refuses every AUTH from that address;
//   - a pair lock refuses that username from that address;
//   - a username lock refuses that username only from addresses that are not familiar, i.e. that have not
//     authenticated successfully as it in the last 30 days (the caller says, see shared-lockouts.ts). So a
//     stranger who guesses a known username is locked out, and the owner's application goes on sending from
//     its usual network (Entra ID's smart lockout: familiar and unfamiliar locations).
// In memory, per relay instance, bounded in size (least recently touched entries are dropped first). The relay
// runs it as the cache of the counters shared through the database (shared-lockouts.ts): `known` and `adopt`
// are how the two meet.
export interface BruteForceSettings {
  slowAfter: number;
  blockAfter: number;
  windowMs: number;
  blockMs: number;
  /** Extra delay per failure past slowAfter (default 1 s), capped at maxDelayMs (default 5 s). */
  delayStepMs?: number;
  maxDelayMs?: number;
  /** Entries kept per kind (addresses, usernames); default 50,000. */
  maxEntries?: number;
}

export type LockKind = 'address' | 'pair' | 'username';

export interface Counter {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

export type BruteForceVerdict = { blocked: false } | { blocked: true; by: LockKind; retryAfterMs: number };

export interface FailureOutcome {
  /** Wait this long before answering the failure. */
  delayMs: number;
  /** Lockouts this failure started (to log once, not on every refused attempt). */
  lockedNow: LockKind[];
  failures: { address: number; pair: number; username: number };
}

export interface CheckOptions {
  /** The address authenticated successfully as this username lately: a username lock does not apply to it. */
  familiar?: boolean;
}

export class BruteForceGuard {
  private readonly byAddress = new Map<string, Counter>();
  private readonly byUsername = new Map<string, Counter>();
  private readonly byPair = new Map<string, Counter>();
  private readonly maxEntries: number;

  constructor(
    private readonly s: BruteForceSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = s.maxEntries ?? 50_000;
  }

  check(address: string, username: string, opts: CheckOptions = {}): BruteForceVerdict {
    const t = this.now();
    for (const [by, counter] of [
      ['address', this.current(this.byAddress, address, t)],
      ['pair', this.current(this.byPair, pairKey(username, address), t)],
      ['username', opts.familiar ? undefined : this.current(this.byUsername, usernameKey(username), t)],
    ] as const) {
      if (counter && counter.blockedUntil > t) return { blocked: true, by, retryAfterMs: counter.blockedUntil - t };
    }
    return { blocked: false };
  }

  /**
   * `{ address: false }` for a failure that is no guess (the right password of a disabled account): it counts
   * against the username only. Counted against the address, an application that keeps retrying with its
   * disabled account locked every other account behind the same address out (found by test:soak).
   */
  recordFailure(address: string, username: string, opts: { address?: boolean } = {}): FailureOutcome {
    const t = this.now();
    const lockedNow: LockKind[] = [];
    const a = opts.address === false ? (this.current(this.byAddress, address, t)?.failures ?? 0) : this.bump(this.byAddress, address, t, () => lockedNow.push('address'));
    const p = this.bump(this.byPair, pairKey(username, address), t, () => lockedNow.push('pair'));
    const u = this.bump(this.byUsername, usernameKey(username), t, () => lockedNow.push('username'));
    return { delayMs: this.delayFor(Math.max(a, p, u)), lockedNow, failures: { address: a, pair: p, username: u } };
  }

  /**
   * A success clears the username's and the pair's counts (not the address's: one good account must not reset
   * guessing others). A block in force stays.
   */
  recordSuccess(username: string, address?: string): void {
    const t = this.now();
    for (const [map, key] of [[this.byUsername, usernameKey(username)], ...(address === undefined ? [] : [[this.byPair, pairKey(username, address)] as const])] as const) {
      const c = map.get(key);
      if (c && c.blockedUntil <= t) map.delete(key);
    }
  }

  /** Whether this instance holds a live counter for the address or the username (then the shared one is worth a read). */
  known(address: string, username: string): boolean {
    const t = this.now();
    return (
      this.current(this.byAddress, address, t) !== undefined ||
      this.current(this.byPair, pairKey(username, address), t) !== undefined ||
      this.current(this.byUsername, usernameKey(username), t) !== undefined
    );
  }

  /** Replaces this instance's counter with the shared one (which includes this instance's failures). */
  adopt(kind: LockKind, key: string, counter: Counter): void {
    const map = kind === 'address' ? this.byAddress : kind === 'pair' ? this.byPair : this.byUsername;
    const k = kind === 'username' ? usernameKey(key) : key;
    map.delete(k);
    map.set(k, { ...counter });
    while (map.size > this.maxEntries) map.delete(map.keys().next().value!);
  }

  /** The delay before answering a failure, for the worst of the two counts. */
  delayFor(failures: number): number {
    const step = this.s.delayStepMs ?? 1000;
    return failures > this.s.slowAfter ? Math.min(step * (failures - this.s.slowAfter), this.s.maxDelayMs ?? 5000) : 0;
  }

  size(): { addresses: number; usernames: number; pairs: number } {
    return { addresses: this.byAddress.size, usernames: this.byUsername.size, pairs: this.byPair.size };
  }

  /** The live counter for a key, or undefined once its window and block are over (then it is dropped). */
  private current(map: Map<string, Counter>, key: string, t: number): Counter | undefined {
    const c = map.get(key);
    if (!c) return undefined;
    if (c.blockedUntil <= t && t - c.windowStart >= this.s.windowMs) {
      map.delete(key);
      return undefined;
    }
    return c;
  }

  private bump(map: Map<string, Counter>, key: string, t: number, onLock: () => void): number {
    const c = this.current(map, key, t) ?? { failures: 0, windowStart: t, blockedUntil: 0 };
    c.failures += 1;
    if (c.failures >= this.s.blockAfter && c.blockedUntil <= t) {
      c.blockedUntil = t + this.s.blockMs;
      onLock();
    }
    map.delete(key);
    map.set(key, c);
    while (map.size > this.maxEntries) map.delete(map.keys().next().value!);
    return c.failures;
  }
}

export function usernameKey(username: string): string {
  return username.trim().toLowerCase().slice(0, 256);
}

/** One username from one address: "<username>|<address>" (an address never holds "|"). */
export function pairKey(username: string, address: string): string {
  return `${usernameKey(username)}|${address}`;
}
