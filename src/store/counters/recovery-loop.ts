// Every relay and worker process finishes counter batches left open (by a crash, or a store outage) once
// they are older than any commit could take: at start, then periodically. Several processes may do it at
// once: finishing is idempotent (markers), so the worst case is work done twice, never counts.
import type { Logger } from '../../log.ts';
import { finishBatch, type RecoveryDeps } from './recover.ts';

export interface BatchRecoveryOptions {
  log: Logger;
  /** Batches this process is still committing (left alone). */
  isInFlight?: (batchId: string) => boolean;
  /** Older than this, a batch is finished by whoever sees it (default 2 minutes: far past the store timeout). */
  staleAfterMs?: number;
  everyMs?: number;
  clock?: () => Date;
}

export function startBatchRecovery(deps: RecoveryDeps, opts: BatchRecoveryOptions) {
  const staleAfter = opts.staleAfterMs ?? 120_000;
  const clock = opts.clock ?? (() => new Date());
  let running: Promise<number> | null = null;

  async function runOnce(): Promise<number> {
    let finished = 0;
    const stale = await deps.batches.stale(new Date(clock().getTime() - staleAfter));
    for (const batch of stale) {
      if (opts.isInFlight?.(batch._id)) continue;
      try {
        const r = await finishBatch(deps, batch);
        finished++;
        if (r.counted || r.withdrawn || r.released) {
          opts.log.warn(
            { code: 'COUNTER_BATCH_RECOVERED', ...r },
            `finished counter batch ${batch._id} left open (${r.counted} counted, ${r.withdrawn} withdrawn, ${r.released} emails of quota given back)`,
          );
        }
      } catch (err) {
        opts.log.warn({ err, code: 'COUNTER_BATCH_RECOVERY_FAILED', batch: batch._id }, 'could not finish a counter batch left open; will retry');
      }
    }
    return finished;
  }

  const tick = () => {
    running ??= runOnce()
      .catch((err: unknown) => {
        opts.log.warn({ err, code: 'COUNTER_BATCH_RECOVERY_FAILED' }, 'could not look for counter batches left open; will retry');
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  void tick();
  const timer = setInterval(() => void tick(), opts.everyMs ?? 30_000);
  timer.unref();
  return {
    /** Finishes what is stale now (tests, the CLI). */
    runOnce: tick,
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}
