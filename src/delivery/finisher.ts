// Group finish: attempts that end while a finish is in flight are written together. One finish = one
// counter batch ledger document (the outcomes to count), one bulk write of the messages' recipients under
// their leases, one bulk write per counter collection, and the ledger closed. A worker killed half way leaves
// the batch to recovery, which counts exactly the outcomes whose write landed.
import { outcomeChange, type CounterChange } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { CounterBatches, OutcomeEntry } from '../store/counters/batches.ts';
import { applyCounterChanges, markDone, type CounterCollections, type MarkerSweeper } from '../store/counters/targets.ts';
import type { FinishedAttempt, Queue } from '../store/queue/index.ts';
import { counterDelta, type RecipientOutcome } from './outcome.ts';

export interface FinishRequest extends FinishedAttempt {
  outcomes: RecipientOutcome[];
}

export interface FinisherDeps {
  queue: Queue;
  batches: CounterBatches;
  counters: CounterCollections;
  sweeper: MarkerSweeper;
  log: Logger;
  owner: string;
  clock: () => Date;
}

interface Pending extends FinishRequest {
  resolve(held: boolean): void;
  reject(err: unknown): void;
}

const MAX_BATCH = 256;

export function createFinisher(deps: FinisherDeps) {
  let pending: Pending[] = [];
  let running: Promise<void> | null = null;

  async function commit(batch: Pending[]): Promise<void> {
    const now = deps.clock();
    const batchId = deps.batches.newId();
    const changes: CounterChange[] = [];
    const outcomes: OutcomeEntry[] = [];
    for (const p of batch) {
      const change = outcomeChange(p.lease.message, counterDelta(p.outcomes), now);
      if (!change) continue;
      changes.push(change);
      outcomes.push({ id: p.lease.id, workspaceId: change.workspaceId, accountId: change.accountId, at: now, delta: change.delta });
    }
    if (outcomes.length) await deps.batches.open({ _id: batchId, kind: 'outcome', state: 'open', owner: deps.owner, createdAt: now, outcomes });
    const held = await deps.queue.finishMany(batch, now, batchId);
    for (const p of batch) p.resolve(held.has(p.lease.id));
    if (!outcomes.length) return;
    const counted = changes.filter((_, i) => held.has(outcomes[i]!.id));
    try {
      await applyCounterChanges(deps.counters, batchId, counted, deps.sweeper);
      await deps.batches.close(batchId);
      markDone(deps.sweeper, batchId, counted);
    } catch (err) {
      deps.log.warn({ err, code: 'DELIVERY_COUNTERS_DEFERRED', batchId, messages: counted.length }, 'outcomes written; counting them is left to the batch ledger');
    }
  }

  async function drain(): Promise<void> {
    while (pending.length) {
      const batch = pending.slice(0, MAX_BATCH);
      pending = pending.slice(batch.length);
      await commit(batch).catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      });
    }
  }

  return {
    /** Writes the attempt's recipients under its lease (with others'); false when the lease was lost. */
    finish(req: FinishRequest): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        pending.push({ ...req, resolve, reject });
        running ??= drain().finally(() => {
          running = null;
        });
      });
    },
    /** Resolves when everything submitted so far is written. */
    async idle(): Promise<void> {
      while (running) await running;
    },
  };
}
