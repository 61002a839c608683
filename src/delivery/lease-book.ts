// Every lease a worker holds, waiting for a slot or being delivered or finished, is renewed together (one
// command for all) every third of the lease, so none runs out while the worker is alive. A lease the store
// says is no longer ours is lost: a waiting one is dropped, never delivered; one being delivered is logged
// (its finish will change nothing). A waiting lease with too little time left is handed back, not started.
import type { Logger } from '../log.ts';
import type { Lease, Queue } from '../store/queue/index.ts';

export interface LeaseBookDeps {
  queue: Pick<Queue, 'renewMany' | 'releaseMany'>;
  leaseMs: number;
  clock: () => Date;
  log: Logger;
}

export function createLeaseBook(deps: LeaseBookDeps) {
  const held = new Map<string, { lease: Lease; lost: boolean }>();
  const waiting: Lease[] = [];
  const renewEvery = Math.max(100, Math.floor(deps.leaseMs / 3));
  // Started with less than this left, a delivery could outlive its lease before the next renewal.
  const minimumLeft = renewEvery;
  let renewing: Promise<void> | null = null;

  async function renewAll(): Promise<void> {
    const leases = [...held.values()].map((h) => h.lease);
    if (leases.length === 0) return;
    try {
      const still = await deps.queue.renewMany(leases, deps.clock(), deps.leaseMs);
      for (const lease of leases) {
        const h = held.get(lease.id);
        if (!h || still.has(lease.id) || h.lost) continue;
        h.lost = true;
        const queued = waiting.indexOf(lease);
        if (queued >= 0) {
          waiting.splice(queued, 1);
          held.delete(lease.id);
        }
        deps.log.warn(
          { code: 'DELIVERY_LEASE_LOST', queueId: lease.id, waiting: queued >= 0 },
          queued >= 0 ? 'lease lost while waiting for a slot; not delivered here' : 'lease lost while delivering (another worker may send this message again)',
        );
      }
    } catch (err) {
      deps.log.warn({ err, code: 'DELIVERY_LEASE_RENEW_FAILED', leases: leases.length }, 'could not renew the leases');
    }
  }

  const timer = setInterval(() => {
    renewing ??= renewAll().finally(() => {
      renewing = null;
    });
  }, renewEvery);
  timer.unref();

  function giveBack(leases: Lease[]): Promise<void> {
    for (const l of leases) held.delete(l.id);
    return deps.queue.releaseMany(leases, deps.clock()).catch((err: unknown) => {
      deps.log.warn({ err, code: 'DELIVERY_LEASE_RELEASE_FAILED', leases: leases.length }, 'could not hand leases back; they will run out');
    });
  }

  return {
    add(leases: Lease[]): void {
      for (const l of leases) {
        held.set(l.id, { lease: l, lost: false });
        waiting.push(l);
      }
    },
    /** The next waiting lease with time left; those without are handed back (in the background). */
    next(): Lease | null {
      const now = deps.clock().getTime();
      const late: Lease[] = [];
      let found: Lease | null = null;
      while (waiting.length && !found) {
        const l = waiting.shift()!;
        if (l.until.getTime() - now > minimumLeft) found = l;
        else late.push(l);
      }
      if (late.length) void giveBack(late);
      return found;
    },
    /** Whether the lease may still be acted on: ours by the last renewal, and not run out. */
    usable(lease: Lease): boolean {
      const h = held.get(lease.id);
      return h !== undefined && !h.lost && lease.until.getTime() > deps.clock().getTime();
    },
    /** The message is finished (or given up): its lease is no longer renewed. */
    done(id: string): void {
      held.delete(id);
    },
    waitingCount: () => waiting.length,
    size: () => held.size,
    ids: () => [...held.keys()],
    /** Hands back every lease still waiting (one command). */
    releaseWaiting(): Promise<void> {
      return giveBack(waiting.splice(0));
    },
    /** Hands back whatever is still held (shutdown, after deliveries ended) and stops renewing. */
    async close(): Promise<void> {
      clearInterval(timer);
      await renewing;
      waiting.length = 0;
      await giveBack([...held.values()].map((h) => h.lease));
    },
  };
}

export type LeaseBook = ReturnType<typeof createLeaseBook>;
