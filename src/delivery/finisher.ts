// Group finish: attempts that end while a finish is in flight are written together, through the ledger
// (store/ledger, recordOutcomes): one batch document holding the outcomes to count and the delivery status
// notices owed, one bulk write of the messages' recipients under their leases, the notices stored, one bulk
// write per counter collection, the batch closed. A worker killed half way leaves the batch to recovery,
// which counts exactly the outcomes whose write landed and stores their notices: a notice is never lost
// between the finish and its storing.
import { outcomeChange } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { Ledger, OutcomeEntry } from '../store/ledger/index.ts';
import type { NewQueuedMessage } from '../store/queue/enqueue.ts';
import type { FinishedAttempt, Queue } from '../store/queue/index.ts';
import { counterDelta, type RecipientOutcome } from './outcome.ts';

export interface FinishRequest extends FinishedAttempt {
  outcomes: RecipientOutcome[];
  /** The delivery status notice to store once this outcome is written. */
  notice?: NewQueuedMessage;
}

export interface FinisherDeps {
  queue: Pick<Queue, 'finishMany'>;
  ledger: Pick<Ledger, 'recordOutcomes'>;
  log: Logger;
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
  /** Commits ended, notices stored and counters applied included (a drain is judged on these). */
  let settled = 0;

  async function commit(batch: Pending[]): Promise<void> {
    const now = deps.clock();
    const entries: OutcomeEntry[] = [];
    for (const p of batch) {
      const change = outcomeChange(p.lease.message, counterDelta(p.outcomes), now);
      if (change) entries.push({ id: p.lease.id, workspaceId: change.workspaceId, accountId: change.accountId, at: now, delta: change.delta });
    }
    const notices = batch.filter((p) => p.notice).map((p) => ({ forId: p.lease.id, message: p.notice! }));
    await deps.ledger.recordOutcomes(
      { kind: 'outcome', entries, notices, write: (batchId) => deps.queue.finishMany(batch, now, batchId) },
      (held) => {
        for (const p of batch) p.resolve(held.has(p.lease.id));
      },
      deps.log,
    );
  }

  async function drain(): Promise<void> {
    while (pending.length) {
      const batch = pending.slice(0, MAX_BATCH);
      pending = pending.slice(batch.length);
      await commit(batch).catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      });
      settled++;
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
    /**
     * Whether a commit is under way, and how many have ended. An attempt's finish resolves once its message is
     * written; the notices it owes are stored after that, in the same commit.
     */
    busy: () => running !== null,
    settled: () => settled,
    /** Resolves when everything submitted so far is written. */
    async idle(): Promise<void> {
      while (running) await running;
    },
  };
}

export type Finisher = ReturnType<typeof createFinisher>;
