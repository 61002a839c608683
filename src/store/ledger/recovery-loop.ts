// One recovery loop per process, whatever roles it runs (the relay and the worker each `use` it; it runs while
// one of them does). It finishes batches whose lease ran out: their owner died or lost the store, or a
// tombstone is due another look. A batch is taken over first (a conditional update of its lease), so two
// processes' loops do not finish the same batch at once; finishing is idempotent anyway (markers).
import type { Logger } from '../../log.ts';
import { finishBatch, type RecoveryDeps } from './recover.ts';

export interface RecoveryLoopOptions {
  owner: string;
  /** The lease recovery takes on a batch while it finishes it. */
  leaseMs: number;
  everyMs: number;
}

export function recoveryLoop(deps: RecoveryDeps, opts: RecoveryLoopOptions) {
  const users = new Set<Logger>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;

  async function runOnce(log: Logger): Promise<number> {
    let finished = 0;
    const now = deps.clock();
    for (const batch of await deps.batches.expired(now)) {
      try {
        if (!(await deps.batches.takeOver(batch, opts.owner, new Date(now.getTime() + opts.leaseMs)))) continue;
        const r = await finishBatch(deps, batch);
        finished++;
        if (r.counted || r.withdrawn || r.released) {
          log.warn(
            { code: 'COUNTER_BATCH_RECOVERED', ...r },
            `finished ledger batch ${batch._id} (${batch.kind}/${batch.state}) its owner left (${r.counted} counted, ${r.withdrawn} withdrawn, ${r.released} emails of quota given back)`,
          );
        }
      } catch (err) {
        log.warn({ err, code: 'COUNTER_BATCH_RECOVERY_FAILED', batch: batch._id }, 'could not finish a ledger batch left open; will retry');
      }
    }
    return finished;
  }

  const tick = (): Promise<number> => {
    const log = users.values().next().value;
    if (!log) return Promise.resolve(0);
    running ??= runOnce(log)
      .catch((err: unknown) => {
        log.warn({ err, code: 'COUNTER_BATCH_RECOVERY_FAILED' }, 'could not look for ledger batches left open; will retry');
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };

  return {
    /** Starts the loop for this user (at once, then every `everyMs`); the returned stop ends it once no user is left. */
    use(log: Logger): () => Promise<void> {
      users.add(log);
      if (!timer) {
        void tick();
        timer = setInterval(() => void tick(), opts.everyMs);
        timer.unref();
      }
      return async () => {
        users.delete(log);
        if (users.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
        await running;
      };
    },
    /** Finishes what has run out now (tests, the CLI), with `log` for its lines. */
    runOnce(log: Logger): Promise<number> {
      if (users.size) return tick();
      return runOnce(log);
    },
    /** How many processes' parts use the loop (tests: one loop per process). */
    users: () => users.size,
  };
}
