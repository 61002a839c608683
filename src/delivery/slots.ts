// A fixed number of places for work running at once. Waiting for a free place registers one callback that is
// dropped once called: nothing accumulates with the work done (no race against a promise that never settles).
export class Slots {
  private readonly running = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];

  constructor(readonly size: number) {}

  count(): number {
    return this.running.size;
  }

  free(): number {
    return Math.max(0, this.size - this.running.size);
  }

  /** Runs `task` in a place (the caller checked free()); errors are the task's own business. */
  run(task: () => Promise<void>): void {
    const p: Promise<void> = task()
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(p);
        this.wakeWaiters();
      });
    this.running.add(p);
  }

  /** Resolves when a place is free (at once when one is), or when wakeWaiters() is called. */
  whenFree(): Promise<void> {
    if (this.free() > 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Lets every waiter go (a place freed, or the owner is stopping). */
  wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves true once nothing runs, false after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.running.size > 0) {
      const left = until - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
        this.waiters.push(resolve);
      });
      clearTimeout(timer);
    }
    return true;
  }
}
