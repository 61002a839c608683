// Catch-up work the relay owes the store after it answered a client without it: finishing a commit batch
// it refused (record the refusal if the 451 went without it, withdraw what landed, give the quota back).
// The store calls themselves are bounded by the driver (timeoutMS), so the task runs once they have failed.
// Each task is retried with backoff until it succeeds or gives up (logged with a stable code). In memory: a
// crash loses pending tasks, and then the message ledger's recovery (src/store/ledger) does the same work
// from the database, so nothing is lost or counted twice either way.
import type { Logger } from '../log.ts';

export interface RepairTask {
  /** Stable name for logs, e.g. "finish-batch". */
  name: string;
  run: () => Promise<void>;
  details?: Record<string, unknown>;
}

export interface RepairQueueOptions {
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Give up on a task after this long (default 30 minutes). */
  maxAgeMs?: number;
}

export class RepairQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly active = new Map<RepairTask, number>();
  private closed = false;
  private readonly first: number;
  private readonly maxDelay: number;
  private readonly maxAge: number;

  constructor(
    private readonly log: Logger,
    opts: RepairQueueOptions = {},
  ) {
    this.first = opts.firstDelayMs ?? 500;
    this.maxDelay = opts.maxDelayMs ?? 30_000;
    this.maxAge = opts.maxAgeMs ?? 30 * 60_000;
  }

  /** Runs the task now and retries it until it succeeds. */
  schedule(task: RepairTask): void {
    this.active.set(task, Date.now());
    void this.attempt(task, 0);
  }

  /** Tasks not yet done. */
  pending(): number {
    return this.active.size;
  }

  /** Resolves true when nothing is pending, false at the timeout. */
  async idle(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.pending() > 0) {
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }

  /** Stops retrying: waits up to `timeoutMs` for pending work, then logs what is left. */
  async close(timeoutMs: number): Promise<void> {
    await this.idle(timeoutMs);
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const task of this.active.keys()) {
      this.log.error({ code: 'RELAY_REPAIR_ABANDONED', repair: task.name, ...task.details }, `repair ${task.name} abandoned at shutdown`);
    }
  }

  private async attempt(task: RepairTask, n: number): Promise<void> {
    if (this.closed) return;
    try {
      await task.run();
      this.active.delete(task);
      this.log.info({ code: 'RELAY_REPAIR_DONE', repair: task.name, attempts: n + 1, ...task.details }, `repair ${task.name} done`);
    } catch (err) {
      const age = Date.now() - (this.active.get(task) ?? Date.now());
      if (age >= this.maxAge) {
        this.active.delete(task);
        this.log.error({ err, code: 'RELAY_REPAIR_FAILED', repair: task.name, attempts: n + 1, ...task.details }, `repair ${task.name} gave up`);
        return;
      }
      const delay = Math.min(this.first * 2 ** n, this.maxDelay);
      this.log.warn({ err, code: 'RELAY_REPAIR_RETRY', repair: task.name, attempt: n + 1, delayMs: delay, ...task.details }, `repair ${task.name} failed, retrying`);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.attempt(task, n + 1);
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
  }
}
