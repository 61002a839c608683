// What the ledger's parts share: the batch documents, the counters and their markers, the quota, who this
// process is and how long it holds a batch.
import type { Models } from '../models/index.ts';
import { ledgerBatches, type LedgerBatches } from './batches.ts';
import { counterCollections, MarkerSweeper, type CounterCollections } from './counters.ts';
import { batchHoldings, type BatchHoldings } from './holdings.ts';
import { quotaCounters, type QuotaCounters } from './quota.ts';
import type { LedgerQueue, RecoveryDeps } from './recover.ts';

export interface LedgerContext {
  owner: string;
  batches: LedgerBatches;
  counters: CounterCollections;
  sweeper: MarkerSweeper;
  quota: QuotaCounters;
  queue: LedgerQueue;
  holdings: BatchHoldings;
  clock: () => Date;
  /** When a batch opened or renewed now stops being held. */
  leaseEnd(): Date;
  recovery: RecoveryDeps;
}

export function ledgerContext(models: Models, queue: LedgerQueue, opts: { owner: string; leaseMs: number; clock?: () => Date; tombstoneLooks?: number }): LedgerContext {
  const clock = opts.clock ?? (() => new Date());
  const batches = ledgerBatches(models);
  const counters = counterCollections(models);
  const sweeper = new MarkerSweeper();
  const quota = quotaCounters(counters, sweeper);
  const leaseEnd = () => new Date(clock().getTime() + opts.leaseMs);
  return {
    owner: opts.owner,
    batches,
    counters,
    sweeper,
    quota,
    queue,
    holdings: batchHoldings(batches, opts.leaseMs, leaseEnd),
    clock,
    leaseEnd,
    recovery: { batches, quota, counters, sweeper, queue, clock, tombstone: { everyMs: opts.leaseMs, looks: opts.tombstoneLooks ?? 5 } },
  };
}
