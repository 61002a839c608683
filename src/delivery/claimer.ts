// Where a worker's work comes from, each claimed in bulk (one command for many messages):
//   1. new messages this process's relay stored (onEnqueued), or that a relay of another process announced
//      in the ledger (notices): claimFresh, guarded by "never leased", without reading the documents;
//   2. due messages (retries, expired leases, lost notices): claimDue, one query on the due time and one bulk
//      write, run by the worker beside the claims of new mail, never in their way. On FerretDB that query scans
//      the queue (seconds on a long history), so it runs at most every dueScanIntervalMs, or ten times as long
//      as the last scan took when that is longer; after a full scan (a backlog) again once as long as that scan
//      took has passed; at once when someone waits for the queue to drain. A scan costs about the same for a few
//      messages or hundreds, so after a full one the next takes twice as many, or what the worker's slots start
//      in a few seconds or while two more scans run (pacedDueClaim) when that is more, up to dueClaimCap: a
//      backlog drains at the pace of the slots, not of the scans.
import type { Logger } from '../log.ts';
import type { Ledger } from '../store/ledger/index.ts';
import type { FreshMessage, Lease, Queue } from '../store/queue/index.ts';

export interface ClaimerDeps {
  queue: Pick<Queue, 'claimFresh' | 'claimDue' | 'withdrawLeased'>;
  ledger: Pick<Ledger, 'takeNotices' | 'refusedAmong'>;
  log: Logger;
  owner: string;
  leaseMs: number;
  clock: () => Date;
  /** Notices are looked for at most this often while there are none. */
  pollMinMs: number;
  dueScanIntervalMs: number;
  /** At least this many due messages per scan (they wait renewed until a slot frees). */
  minDueClaim: number;
  /** What the worker's pace says one scan should claim during a backlog. */
  pacedDueClaim: () => number;
  /** At most this many per scan, however long a backlog. */
  dueClaimCap: number;
  /** Ids of the messages this worker holds (waiting, delivering or finishing): never claimed again by it. */
  held: () => string[];
  /** Milliseconds for scheduling scans and polls (default Date.now; tests pass their own). */
  now?: () => number;
}

/** Without a backlog, the next due scan waits at least this many times as long as the last one took. */
const IDLE_SCAN_SPACING = 10;

/** New messages kept in memory at most (more are found later by their due time). */
const MAX_FRESH = 10_000;

export function createClaimer(deps: ClaimerDeps) {
  const now = deps.now ?? Date.now;
  const fresh: FreshMessage[] = [];
  let nextDueScanAt = 0;
  let dueClaim = deps.minDueClaim;
  // The last due scan came back full: more is due than was taken.
  let backlog = false;
  let lastEmptyNotices = 0;
  const stats = { claimsLost: 0, lastDueScanMs: 0 };

  async function claimFresh(want: number, out: Lease[]): Promise<void> {
    while (fresh.length && out.length < want) {
      out.push(...(await deps.queue.claimFresh(fresh.splice(0, want - out.length), { owner: deps.owner, now: deps.clock(), leaseMs: deps.leaseMs })));
    }
  }

  /**
   * A message found by its due time that no worker ever leased may have landed late under a batch whose
   * clients heard 451: those are withdrawn, not delivered (one lookup in the ledger for all of them).
   */
  async function withoutRefused(leases: Lease[]): Promise<Lease[]> {
    const batches = [...new Set(leases.map((l) => l.firstFromBatch).filter((b): b is string => b !== undefined))];
    if (batches.length === 0) return leases;
    const refused = await deps.ledger.refusedAmong(batches);
    if (refused.size === 0) return leases;
    const late = leases.filter((l) => l.firstFromBatch !== undefined && refused.has(l.firstFromBatch));
    const removed = await deps.queue.withdrawLeased(late);
    if (removed.length) deps.log.warn({ code: 'RELAY_LATE_COMMIT_REMOVED', queueIds: removed }, 'messages stored after their 451 were withdrawn');
    return leases.filter((l) => !late.includes(l));
  }

  return {
    stats,
    /** Whether the last due scan came back full (a backlog is being claimed). */
    backlog: () => backlog,
    /** Messages this process stored: claimed before anything else. */
    hear(msgs: FreshMessage[]): void {
      if (fresh.length < MAX_FRESH) fresh.push(...msgs);
    },
    /** Up to `want` new messages: this process's own, then what notices announce. Cheap: no read of the queue. */
    async claim(want: number): Promise<Lease[]> {
      const out: Lease[] = [];
      if (want <= 0) return out;
      await claimFresh(want, out);
      if (out.length < want && now() - lastEmptyNotices >= deps.pollMinMs) {
        const taken = await deps.ledger.takeNotices(Math.max(4, want));
        if (taken.length === 0) lastEmptyNotices = now();
        fresh.push(...taken);
        await claimFresh(want, out);
      }
      return out;
    },
    /** Whether a due scan should run now (`mustScan`: someone waits for the queue to drain). */
    scanDue(mustScan = false): boolean {
      return mustScan || now() >= nextDueScanAt;
    },
    /**
     * Up to `want` due messages, or as many as a backlog calls for. The worker runs it beside the claims of new
     * messages, never in their way: on FerretDB it reads the whole queue and can take seconds.
     */
    async claimDue(want: number): Promise<Lease[]> {
      nextDueScanAt = now() + deps.dueScanIntervalMs;
      // A scan costs about the same for one message or many (on FerretDB it reads the queue).
      const limit = Math.max(want, dueClaim);
      const scanStarted = now();
      // The next scan waits, without a backlog, ten times as long as this one took (below). A failed scan too: the
      // database is away, or the scan ran past the driver's timeout on a long FerretDB history, and one run again
      // after the interval would keep the database scanning.
      const scanned = (full: boolean) => {
        stats.lastDueScanMs = now() - scanStarted;
        nextDueScanAt = now() + (full ? stats.lastDueScanMs : Math.max(deps.dueScanIntervalMs, IDLE_SCAN_SPACING * stats.lastDueScanMs));
      };
      const { leases, seen } = await deps.queue.claimDue({ owner: deps.owner, now: deps.clock(), leaseMs: deps.leaseMs, limit, exclude: deps.held() }).catch((err: unknown) => {
        scanned(false);
        throw err;
      });
      stats.claimsLost += seen - leases.length;
      // A full answer says there is a backlog: look again soon, for as many as the slots will start meanwhile.
      const full = seen >= limit;
      backlog = full;
      // Even then, the database spends at most about half its time on this worker's scans: on FerretDB a scan
      // reads the whole collection, and scans back to back slowed every other command of every process. Without
      // a backlog, at most a tenth: a scan of a long history takes seconds, and only retries and dead workers'
      // leases wait for it.
      scanned(full);
      // At least twice the last: the pace the worker sees is itself held back by small claims.
      dueClaim = full ? Math.max(deps.minDueClaim, Math.min(deps.dueClaimCap, Math.max(limit * 2, deps.pacedDueClaim()))) : deps.minDueClaim;
      deps.log.debug({ code: 'DELIVERY_DUE_SCAN', ms: stats.lastDueScanMs, limit, seen, leased: leases.length }, 'due scan');
      return withoutRefused(leases);
    },
  };
}

export type Claimer = ReturnType<typeof createClaimer>;
