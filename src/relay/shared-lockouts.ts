// Brute-force lockouts shared by every relay instance. The counters live in the database (one document per
// address, (username, address) pair and username, src/store/repositories/lockouts.ts); BruteForceGuard in
// memory is their cache.
//
// What costs a database round trip:
//   - a failed AUTH: one atomic update per counter (address, pair, username), in parallel, whose answer is the
//     total over every instance; it sets the block when the total reaches RELAY_BRUTE_FORCE_BLOCK_AFTER;
//   - an AUTH from an address or for a username this instance has already seen fail: one read of the shared
//     counters before authenticating, so a block set by another instance is honoured;
//   - an AUTH for a username under a username-wide lock: one read by _id of whether this address is familiar
//     (authenticated as it in the last FAMILIAR_DAYS days): familiar addresses are not held by that lock;
//   - a successful AUTH: one upsert of the familiar record of (username, address), at most once per
//     FAMILIAR_REFRESH_MS per instance (an application that connects per message pays it once a day).
// So a guesser spread over N instances meets the same limits, give or take one try per instance that had not
// seen it fail yet (its first failure there returns the shared count, and the block with it). If the database
// cannot be reached the in-memory counters still slow and block, per instance, as before.
import type { Logger } from '../log.ts';
import type { LockoutRepository, SharedCounter } from '../store/repositories/lockouts.ts';
import { withDeadline } from './deadline.ts';
import { BruteForceGuard, pairKey, usernameKey, type BruteForceSettings, type BruteForceVerdict, type FailureOutcome, type LockKind } from './brute-force.ts';

/** An address that authenticated as a username within this many days is familiar to it. */
export const FAMILIAR_DAYS = 30;
const DAY_MS = 86_400_000;
/** A familiar record is written again after this long (it only needs to stay within FAMILIAR_DAYS). */
const FAMILIAR_REFRESH_MS = DAY_MS / 2;
/** Successes remembered in memory (to skip rewriting familiar records); least recently written dropped first. */
const FAMILIAR_MEMORY = 50_000;

export class SharedLockouts {
  /** pairKey -> when this instance last wrote (or learned of) that success: a cache, safe to lose. */
  private readonly successes = new Map<string, number>();

  constructor(
    readonly local: BruteForceGuard,
    private readonly repo: LockoutRepository | undefined,
    private readonly s: BruteForceSettings,
    private readonly log: Logger,
    /** A database slower than this is not waited for (RELAY_STORE_TIMEOUT_MS): the local counters answer. */
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async check(address: string, username: string): Promise<BruteForceVerdict> {
    let verdict = this.local.check(address, username);
    // A lock this instance knows of answers without a round trip (a guesser's every try would cost one).
    if (!verdict.blocked && this.repo && this.local.known(address, username)) {
      try {
        const shared = await withDeadline(this.repo.read(keysOf(address, username)), this.timeoutMs, 'read shared lockouts');
        for (const { kind, key } of keysOf(address, username)) {
          const c = shared.get(`${kind}:${key}`);
          if (c) this.local.adopt(kind, key, c);
        }
      } catch (err) {
        this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'read' }, "shared lockouts unreadable: using this instance's counters");
      }
      verdict = this.local.check(address, username);
    }
    // Only a username-wide lock asks whether the address is familiar: the owner's application is not held by it.
    if (verdict.blocked && verdict.by === 'username' && (await this.isFamiliar(username, address))) return this.local.check(address, username, { familiar: true });
    return verdict;
  }

  async recordFailure(address: string, username: string, opts: { address?: boolean } = {}): Promise<FailureOutcome> {
    const local = this.local.recordFailure(address, username, opts);
    if (!this.repo) return local;
    const t = this.now();
    const kinds = keysOf(address, username).filter((k) => k.kind !== 'address' || opts.address !== false);
    try {
      const writes = await withDeadline(
        Promise.all(
          kinds.map(async (k) => ({
            ...k,
            ...(await this.repo!.recordFailure(k.kind, k.key, { now: t, windowMs: this.s.windowMs, blockAfter: this.s.blockAfter, blockMs: this.s.blockMs })),
          })),
        ),
        this.timeoutMs,
        'record a failed AUTH',
      );
      const failures = { ...local.failures };
      const lockedNow: LockKind[] = [];
      for (const w of writes) {
        this.local.adopt(w.kind, w.key, w.counter);
        failures[w.kind] = w.counter.failures;
        if (w.lockedNow) lockedNow.push(w.kind);
      }
      return { delayMs: this.local.delayFor(Math.max(failures.address, failures.pair, failures.username)), lockedNow, failures };
    } catch (err) {
      this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'write' }, 'shared lockouts not updated: counted on this instance only');
      return local;
    }
  }

  /**
   * Clears the username's and the pair's counts on this instance (the shared counts end with their window: a
   * guesser's successes must not reset them), and notes the address as familiar to the username: in the
   * database at most once per FAMILIAR_REFRESH_MS per instance, so that every instance exempts it.
   */
  async recordSuccess(username: string, address: string): Promise<void> {
    this.local.recordSuccess(username, address);
    const key = pairKey(username, address);
    const t = this.now();
    const last = this.successes.get(key);
    if (last !== undefined && t - last < FAMILIAR_REFRESH_MS) return;
    this.successes.delete(key);
    this.successes.set(key, t);
    while (this.successes.size > FAMILIAR_MEMORY) this.successes.delete(this.successes.keys().next().value!);
    if (!this.repo) return;
    try {
      await withDeadline(this.repo.recordSuccess(usernameKey(username), address, new Date(t), new Date(t + FAMILIAR_DAYS * DAY_MS)), this.timeoutMs, 'record a familiar address');
    } catch (err) {
      this.successes.delete(key); // try again on the next success
      this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'familiar' }, 'familiar address not recorded');
    }
  }

  /**
   * Counts an AUTH refused for the account's allowed networks; `alertNow` for the one refusal (across instances)
   * that starts an episode. Without the database nothing is alerted (the refusal is still logged and counted).
   */
  async recordNetworkRefusal(accountId: string, episode: { alertAfter: number; windowMs: number; quietMs: number }): Promise<{ refusals: number; alertNow: boolean }> {
    if (!this.repo) return { refusals: 0, alertNow: false };
    try {
      const w = await withDeadline(
        this.repo.recordFailure('network', accountId, { now: this.now(), windowMs: episode.windowMs, blockAfter: episode.alertAfter, blockMs: episode.quietMs }),
        this.timeoutMs,
        'count a network refusal',
      );
      return { refusals: w.counter.failures, alertNow: w.lockedNow };
    } catch (err) {
      this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'network' }, 'network refusal not counted');
      return { refusals: 0, alertNow: false };
    }
  }

  /** The address authenticated as the username within FAMILIAR_DAYS: from the database, else this instance's memory. */
  private async isFamiliar(username: string, address: string): Promise<boolean> {
    const since = this.now() - FAMILIAR_DAYS * DAY_MS;
    const key = pairKey(username, address);
    const remembered = this.successes.get(key);
    if (remembered !== undefined && remembered >= since) return true;
    if (!this.repo) return false;
    try {
      const at = await withDeadline(this.repo.lastSuccess(usernameKey(username), address), this.timeoutMs, 'read a familiar address');
      return at !== null && at.getTime() >= since;
    } catch (err) {
      this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'familiar-read' }, 'familiar address unreadable: the username lock applies');
      return false;
    }
  }
}

function keysOf(address: string, username: string): { kind: LockKind; key: string }[] {
  return [
    { kind: 'address', key: address },
    { kind: 'pair', key: pairKey(username, address) },
    { kind: 'username', key: usernameKey(username) },
  ];
}

export type { SharedCounter };
