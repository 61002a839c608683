// The worker's side of the ledger (delivery/finisher.ts), and any later change of a message's outcome: a
// batch of counter deltas and owed notices, written before the messages' own writes, finished after them.
import type { CounterChange } from '../../domain/index.ts';
import type { Logger } from '../../log.ts';
import type { NewQueuedMessage } from '../queue/enqueue.ts';
import type { BatchKind, OutcomeEntry } from './batches.ts';
import type { LedgerContext } from './context.ts';
import { applyCounterChanges, markDone } from './counters.ts';

export interface OutcomeRecord {
  kind: Exclude<BatchKind, 'accept'>;
  entries: OutcomeEntry[];
  notices?: { forId: string; message: NewQueuedMessage }[];
  /** The caller's guarded writes; each pushes the batch id onto its message's outcomeBatches. Returns the ids written. */
  write(batchId: string): Promise<Set<string>>;
}

export function outcomeSide(c: LedgerContext) {
  const { batches, holdings } = c;

  async function open(batchId: string, rec: OutcomeRecord): Promise<void> {
    holdings.hold(batchId);
    try {
      await batches.open({
        _id: batchId,
        kind: rec.kind,
        state: 'open',
        owner: c.owner,
        createdAt: c.clock(),
        leaseUntil: c.leaseEnd(),
        outcomes: rec.entries,
        notices: rec.notices ?? [],
      });
    } catch (err) {
      holdings.letGo(batchId);
      throw err;
    }
  }

  /** Stores the notices owed, counts what landed, closes the batch; on failure recovery does it. */
  async function settle(batchId: string, rec: OutcomeRecord, landed: Set<string>, log: Logger): Promise<void> {
    const changes: CounterChange[] = rec.entries.filter((o) => landed.has(o.id)).map((o) => ({ accountId: o.accountId, workspaceId: o.workspaceId, at: o.at, delta: o.delta }));
    try {
      const owed = (rec.notices ?? []).filter((n) => landed.has(n.forId)).map((n) => n.message);
      if (owed.length) await c.queue.storeNotices(owed);
      await applyCounterChanges(c.counters, batchId, changes, c.sweeper);
      await batches.close(batchId);
      markDone(c.sweeper, batchId, changes);
    } catch (err) {
      log.warn({ err, code: 'DELIVERY_COUNTERS_DEFERRED', batchId, messages: changes.length }, 'outcomes written; counting them is left to the ledger');
    } finally {
      holdings.letGo(batchId);
    }
  }

  /** See the API in index.ts. onWritten hears the ids written as soon as the writes are done. */
  return async function recordOutcomes(rec: OutcomeRecord, onWritten: (landed: Set<string>) => void, log: Logger): Promise<void> {
    const batchId = batches.newId();
    const needsBatch = rec.entries.length > 0 || (rec.notices?.length ?? 0) > 0;
    if (needsBatch) await open(batchId, rec);
    let landed: Set<string>;
    try {
      landed = await rec.write(batchId);
    } catch (err) {
      holdings.letGo(batchId);
      throw err;
    }
    onWritten(landed);
    if (needsBatch) await settle(batchId, rec, landed, log);
  };
}
