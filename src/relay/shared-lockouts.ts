// Brute-force lockouts shared by every relay instance. The counters live in the database (one document per
// address and per username, src/store/repositories/lockouts.ts); BruteForceGuard in memory is their cache.
//
// What costs a database round trip:
//   - a failed AUTH: one atomic update per counter (address, username), in parallel, whose answer is the
//     total over every instance; it sets the block when the total reaches RELAY_BRUTE_FORCE_BLOCK_AFTER;
//   - an AUTH from an address or for a username this instance has already seen fail: one read of the two
//     shared counters before authenticating, so a block set by another instance is honoured;
//   - nothing else: a success writes nothing, and an AUTH with no failure recorded here (the common case)
//     goes straight to the account.
// So a guesser spread over N instances meets the same limits, give or take one try per instance that had not
// seen it fail yet (its first failure there returns the shared count, and the block with it). If the database
// cannot be reached the in-memory counters still slow and block, per instance, as before.
import type { Logger } from '../log.ts';
import type { LockoutKind, LockoutRepository, SharedCounter } from '../store/repositories/lockouts.ts';
import { withDeadline } from './deadline.ts';
import { BruteForceGuard, usernameKey, type BruteForceSettings, type BruteForceVerdict, type FailureOutcome, type LockKind } from './brute-force.ts';

export class SharedLockouts {
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
    const first = this.local.check(address, username);
    if (first.blocked || !this.repo || !this.local.known(address, username)) return first;
    try {
      const shared = await withDeadline(this.repo.read(keysOf(address, username)), this.timeoutMs, 'read shared lockouts');
      for (const { kind, key } of keysOf(address, username)) {
        const c = shared.get(`${kind}:${key}`);
        if (c) this.local.adopt(kind, key, c);
      }
    } catch (err) {
      this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'read' }, "shared lockouts unreadable: using this instance's counters");
    }
    return this.local.check(address, username);
  }

  async recordFailure(address: string, username: string, opts: { address?: boolean } = {}): Promise<FailureOutcome> {
    const local = this.local.recordFailure(address, username, opts);
    if (!this.repo) return local;
    const t = this.now();
    const kinds = keysOf(address, username).filter((k) => k.kind === 'username' || opts.address !== false);
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
      return { delayMs: this.local.delayFor(Math.max(failures.address, failures.username)), lockedNow, failures };
    } catch (err) {
      this.log.warn({ err, code: 'RELAY_LOCKOUT_STORE_FAILED', op: 'write' }, 'shared lockouts not updated: counted on this instance only');
      return local;
    }
  }

  /**
   * Clears the username's count on this instance. Nothing is written: only failures write, so a success costs
   * no round trip; the shared count ends with its window (a guesser's successes must not reset it either).
   */
  recordSuccess(username: string): void {
    this.local.recordSuccess(username);
  }
}

function keysOf(address: string, username: string): { kind: LockoutKind; key: string }[] {
  return [
    { kind: 'address', key: address },
    { kind: 'username', key: usernameKey(username) },
  ];
}

export type { SharedCounter };
