// Delivery outcomes reach the account's counters through the domain (recordDeliveryOutcome), batched:
// while one write is in flight, later outcomes for the same account and month add up and go out together
// right after. Under load that turns thousands of counter writes into a few; when idle, each outcome is
// written at once. A failed write is kept and retried.
import { monthKey, recordDeliveryOutcome, type DomainContext } from '../domain/index.ts';
import type { Logger } from '../log.ts';

type Delta = { delivered: number; bounced: number; deferred: number; failed: number };

interface Pending {
  account: { id: string; workspaceId: string };
  at: Date;
  delta: Delta;
}

export interface CounterBuffer {
  add(account: { id: string; workspaceId: string }, delta: Delta, at: Date): void;
  /** Resolves when everything added so far is written (or failed and logged). */
  flush(): Promise<void>;
}

const RETRY_MS = 2_000;

export function createCounterBuffer(ctx: DomainContext, log: Logger): CounterBuffer {
  let pending = new Map<string, Pending>();
  let running: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | null = null;

  const isEmpty = (d: Delta) => !d.delivered && !d.bounced && !d.deferred && !d.failed;

  function merge(into: Map<string, Pending>, p: Pending) {
    const key = `${p.account.id}:${monthKey(p.at)}`;
    const cur = into.get(key);
    if (!cur) {
      into.set(key, { account: p.account, at: p.at, delta: { ...p.delta } });
      return;
    }
    cur.delta.delivered += p.delta.delivered;
    cur.delta.bounced += p.delta.bounced;
    cur.delta.deferred += p.delta.deferred;
    cur.delta.failed += p.delta.failed;
  }

  async function writeAll(): Promise<void> {
    while (pending.size) {
      const batch = pending;
      pending = new Map();
      await Promise.all(
        [...batch.values()].map(async (p) => {
          try {
            await recordDeliveryOutcome(ctx, p.account, p.delta, p.at);
          } catch (err) {
            log.error({ err, code: 'DELIVERY_COUNTERS_FAILED', accountId: p.account.id, delta: p.delta }, 'could not update delivery counters; will retry');
            merge(pending, p);
            throw err;
          }
        }),
      ).catch(() => {
        retryTimer ??= setTimeout(() => {
          retryTimer = null;
          start();
        }, RETRY_MS);
        retryTimer.unref();
      });
      if (retryTimer) return;
    }
  }

  function start(): Promise<void> {
    if (!running) {
      running = writeAll().finally(() => {
        running = null;
        // Added between the loop's last check and here.
        if (pending.size && !retryTimer) void start();
      });
    }
    return running;
  }

  return {
    add(account, delta, at) {
      if (isEmpty(delta)) return;
      merge(pending, { account, at, delta });
      void start();
    },
    async flush() {
      // Bounded: a database that stays down is logged, not waited on forever.
      for (let i = 0; i < 3 && (pending.size || running); i++) {
        if (retryTimer) {
          clearTimeout(retryTimer);
          retryTimer = null;
        }
        await start();
      }
    },
  };
}
