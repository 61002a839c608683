// How long the relay waits for the store before answering a temporary failure (RELAY_STORE_TIMEOUT_MS).
// The work itself is not cancelled (a database call cannot be taken back once sent): callers that stop
// waiting for a write hand its promise to the repair queue, which undoes it if it completes late.

export class DeadlineExceeded extends Error {
  readonly code = 'DEADLINE_EXCEEDED';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} took longer than ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(what, ms)), Math.max(1, ms));
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Milliseconds left of a budget that started at `startedAt` (at least 1, so a late step still gets a try). */
export function remainingOf(budgetMs: number, startedAt: number, now = Date.now()): number {
  return Math.max(1, budgetMs - (now - startedAt));
}
