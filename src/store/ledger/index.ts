// The message ledger: the one owner of the protocol that accepts, counts and finishes messages. It alone
// builds counter markers (markers.ts), opens, holds (heartbeat), finishes and recovers batches. One per
// process (runtime.ts), shared by the relay's group commit and the delivery worker's finisher. States and
// transitions: docs/delivery.md, "The message ledger".
//
// API
//   accept.*       the relay's commit (relay/commit.ts): open(batch, entries) -> reserveWhole | reserveOne ->
//                  [narrow] -> (queue insert) -> count -> settle; or refuse (before answering 451) and
//                  finish (once the calls it stopped waiting for have settled).
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
import type { CounterChange } from '../../domain/index.ts';
import type { Logger } from '../../log.ts';
import type { Models } from '../models/index.ts';
import type { NewQueuedMessage } from '../queue/enqueue.ts';
import { ledgerBatches, type AcceptedEntry, type BatchKind, type OutcomeEntry } from './batches.ts';
import { applyCounterChanges, counterCollections, markDone, MarkerSweeper } from './counters.ts';
import { batchMarker, messageMarker, quotaMarkers, workspaceMonthId } from './markers.ts';
import { quotaCounters } from './quota.ts';
import { finishBatch, type LedgerQueue, type RecoveryDeps, type RecoveryResult } from './recover.ts';
import { recoveryLoop } from './recovery-loop.ts';

export type { AcceptedEntry, OutcomeEntry, LedgerBatch } from './batches.ts';
export type { LedgerQueue, RecoveryResult } from './recover.ts';
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

type Timeout = { timeoutMS?: number };

export interface OutcomeRecord {
  kind: Exclude<BatchKind, 'accept'>;
  entries: OutcomeEntry[];
  notices?: { forId: string; message: NewQueuedMessage }[];
  write(batchId: string): Promise<Set<string>>;
}

export function createLedger(models: Models, queue: LedgerQueue, opts: LedgerOptions) {
  const clock = opts.clock ?? (() => new Date());
  const batches = ledgerBatches(models);
  const counters = counterCollections(models);
  const sweeper = new MarkerSweeper();
  const quota = quotaCounters(counters, sweeper);
  const leaseEnd = () => new Date(clock().getTime() + opts.leaseMs);
  const deps: RecoveryDeps = { batches, quota, counters, sweeper, queue, clock, tombstone: { everyMs: opts.leaseMs, looks: opts.tombstoneLooks ?? 5 } };
  const recovery = recoveryLoop(deps, {
    owner: `${opts.owner}/recovery`,
    leaseMs: opts.leaseMs,
    everyMs: opts.recoveryEveryMs ?? Math.min(30_000, Math.max(50, opts.leaseMs / 4)),
  });

  // The batches this process holds, renewed together (one command) while any is held.
  const held = new Set<string>();
  let heartbeat: NodeJS.Timeout | null = null;
  const hold = (id: string) => {
    held.add(id);
    heartbeat ??= setInterval(
      () => {
        if (held.size === 0) {
          clearInterval(heartbeat!);
          heartbeat = null;
          return;
        }
        void batches.renew([...held], leaseEnd()).catch(() => undefined);
      },
      Math.max(50, opts.leaseMs / 3),
    );
    heartbeat.unref();
  };
  const letGo = (id: string) => held.delete(id);
  const sweepTimer = setInterval(() => void sweeper.sweep(counters), 30_000);
  sweepTimer.unref();

  const accept = {
    newId: () => batches.newId(),
    async open(batchId: string, entries: AcceptedEntry[], t: Timeout = {}): Promise<void> {
      hold(batchId);
      await batches.open({ _id: batchId, kind: 'accept', state: 'open', owner: opts.owner, createdAt: clock(), leaseUntil: leaseEnd(), messages: entries }, t);
    },
    /** The whole batch's emails of one workspace month, in one step. */
    reserveWhole: (batchId: string, ws: string, month: string, emails: number, limit: number, t: Timeout = {}) => quota.reserve(ws, month, emails, limit, batchMarker(batchId), t),
    /** One message's emails (`index` in the batch), when the batch did not fit whole. */
    reserveOne: (batchId: string, index: number, ws: string, month: string, emails: number, limit: number, t: Timeout = {}) =>
      quota.reserve(ws, month, emails, limit, messageMarker(batchId, index), t),
    quotaUsed: async (ws: string, month: string, t: Timeout = {}) => (await quota.read(ws, month, t)).sent,
    narrow: (batchId: string, ids: string[], t: Timeout = {}) => batches.narrow(batchId, ids, t),
    count: (batchId: string, changes: readonly CounterChange[], t: Timeout = {}) => applyCounterChanges(counters, batchId, changes, sweeper, t),
    /** Counted: a notice of new work for other processes' workers, or closed when ours heard already. */
    async settle(batchId: string, s: { changes: CounterChange[]; months: { workspaceId: string; month: string }[]; messages: number; notice: boolean }): Promise<void> {
      if (s.changes.length && s.notice) await batches.setState(batchId, 'stored', leaseEnd());
      else await batches.close(batchId);
      letGo(batchId);
      const months = [...new Set(s.months.map((m) => workspaceMonthId(m.workspaceId, m.month)))];
      markDone(sweeper, batchId, s.changes, months, quotaMarkers(batchId, s.messages).slice(1));
    },
    /** Records that the batch's clients hear 451; false when it could not (or recovery had decided it). */
    refuse: (batchId: string, t: Timeout = {}) => batches.refuse(batchId, leaseEnd(), t),
    /** Finishes the batch by its state in the store (after its calls settled); let go of once done. */
    async finish(batchId: string): Promise<RecoveryResult | null> {
      const open = await batches.get(batchId);
      const r = open ? await finishBatch(deps, open) : null;
      letGo(batchId);
      return r;
    },
    /** Stops holding the batch (the store cannot be reached): recovery finishes it once its lease runs out. */
    abandon: letGo,
  };

  async function recordOutcomes(rec: OutcomeRecord, onWritten: (landed: Set<string>) => void, log: Logger): Promise<void> {
    const batchId = batches.newId();
    const notices = rec.notices ?? [];
    const needsBatch = rec.entries.length > 0 || notices.length > 0;
    if (needsBatch) {
      hold(batchId);
      await batches
        .open({ _id: batchId, kind: rec.kind, state: 'open', owner: opts.owner, createdAt: clock(), leaseUntil: leaseEnd(), outcomes: rec.entries, notices })
        .catch((err: unknown) => {
          letGo(batchId);
          throw err;
        });
    }
    let landed: Set<string>;
    try {
      landed = await rec.write(batchId);
    } catch (err) {
      letGo(batchId);
      throw err;
    }
    onWritten(landed);
    if (!needsBatch) return;
    const changes: CounterChange[] = rec.entries.filter((o) => landed.has(o.id)).map((o) => ({ accountId: o.accountId, workspaceId: o.workspaceId, at: o.at, delta: o.delta }));
    try {
      const owed = notices.filter((n) => landed.has(n.forId)).map((n) => n.message);
      if (owed.length) await queue.storeNotices(owed);
      await applyCounterChanges(counters, batchId, changes, sweeper);
      await batches.close(batchId);
      markDone(sweeper, batchId, changes);
    } catch (err) {
      log.warn({ err, code: 'DELIVERY_COUNTERS_DEFERRED', batchId, messages: changes.length }, 'outcomes written; counting them is left to the ledger');
    } finally {
      letGo(batchId);
    }
  }

  return {
    owner: opts.owner,
    accept,
    recordOutcomes,
    takeNotices: (limit: number) => batches.takeNotices(limit),
    recovery: {
      use: (log: Logger) => recovery.use(log),
      runOnce: (log: Logger) => recovery.runOnce(log),
      users: () => recovery.users(),
    },
    /** Batches in the store (tests, the CLI). */
    batches: () => batches.all(),
    /** Takes waiting markers off now (shutdown). */
    async close(): Promise<void> {
      clearInterval(sweepTimer);
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      await sweeper.sweep(counters).catch(() => undefined);
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
