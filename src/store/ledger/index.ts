// The message ledger: the one owner of the protocol that accepts, counts and finishes messages. It alone
// builds counter markers (markers.ts), opens, holds (heartbeat), finishes and recovers batches. One per
// process (runtime.ts), shared by the relay's group commit and the delivery worker's finisher. States and
// transitions: docs/delivery.md, "The message ledger".
//
// API
//   accept.*       the relay's commit (relay/commit.ts): open(batch, entries) -> reserveWhole | reserveOne ->
//                  [narrow] -> (queue insert) -> count -> settle; or decide (records the refusal before
//                  answering 451, unless recovery counted the batch first: then 250) and finish (once the calls it
//                  stopped waiting for have settled).
//   recordOutcomes the worker's finish (delivery/finisher.ts), and any later change of a message's outcome:
//                  recordOutcomes({ kind, entries, notices, write }, onWritten)
//                    1. opens a batch of `kind` holding `entries` (per message: account, workspace, counter
//                       delta) and `notices` (messages to store once their message's outcome landed);
//                    2. calls write(batchId): the caller's guarded writes of the messages, each of which must
//                       $push batchId onto the message's `outcomeBatches` (what recovery checks) and return
//                       the ids written; onWritten(ids) hears them at once;
//                    3. stores the owed notices, applies the deltas of the written entries (once, by marker),
//                       closes the batch.
//                  A crash anywhere leaves the batch to recovery, which does 3. for what landed.
//                  Adding a kind of batch, e.g. a later correction of one recipient's outcome (delivered -1,
//                  bounced +1): kind 'correction', entries [{ id, accountId, workspaceId, at, delta }], and a
//                  write that changes the recipient guarded by `outcomeBatches: { $ne: batchId }` and pushes
//                  batchId: applied exactly once, recovered like an outcome (recover.ts, finishOutcomes).
//   takeNotices    a worker takes the relay's notices of new messages.
//   recovery.use   one recovery loop per process, whoever uses it.
import type { Logger } from '../../log.ts';
import type { Models } from '../models/index.ts';
import { acceptSide } from './accept.ts';
import { ledgerContext } from './context.ts';
import { outcomeSide } from './outcomes.ts';
import type { LedgerQueue } from './recover.ts';
import { recoveryLoop } from './recovery-loop.ts';

export type { AcceptedEntry, OutcomeEntry, LedgerBatch } from './batches.ts';
export type { LedgerQueue, RecoveryResult } from './recover.ts';
export type { OutcomeRecord } from './outcomes.ts';
export { accountDayId, accountMonthId, workspaceMonthId } from './markers.ts';

export interface LedgerOptions {
  /** Names this process in the batches it owns. */
  owner: string;
  /** A batch's lease (COUNTER_BATCH_STALE_SECONDS): past it without a heartbeat, recovery finishes the batch. */
  leaseMs: number;
  clock?: () => Date;
  /** How often the recovery loop looks (default a quarter of the lease, at most 30 s). */
  recoveryEveryMs?: number;
  /** Looks a refused batch gets before it is forgotten (default 5, one per lease). */
  tombstoneLooks?: number;
}

export function createLedger(models: Models, queue: LedgerQueue, opts: LedgerOptions) {
  const c = ledgerContext(models, queue, opts);
  const recovery = recoveryLoop(c.recovery, {
    owner: `${opts.owner}/recovery`,
    leaseMs: opts.leaseMs,
    everyMs: opts.recoveryEveryMs ?? Math.min(30_000, Math.max(50, opts.leaseMs / 4)),
  });
  // Markers of finished batches not taken off by a later update of the same document.
  const sweepTimer = setInterval(() => void c.sweeper.sweep(c.counters), 30_000);
  sweepTimer.unref();
  return {
    owner: opts.owner,
    accept: acceptSide(c),
    recordOutcomes: outcomeSide(c),
    takeNotices: (limit: number) => c.batches.takeNotices(limit),
    /** Of these relay batches, the ones refused (their clients heard 451): what lands under them is not delivered. */
    refusedAmong: (batchIds: string[]) => c.batches.refusedAmong(batchIds),
    recovery: {
      use: (log: Logger) => recovery.use(log),
      runOnce: (log: Logger) => recovery.runOnce(log),
      users: () => recovery.users(),
    },
    /** Batches in the store (tests, the CLI). */
    batches: () => c.batches.all(),
    /** Stops the heartbeat and takes waiting markers off now (shutdown). */
    async close(): Promise<void> {
      clearInterval(sweepTimer);
      c.holdings.stop();
      await c.sweeper.sweep(c.counters).catch(() => undefined);
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
