// When a temporarily failed recipient is tried again, and when delivery gives up.
// DELIVERY_RETRY_SCHEDULE lists the waits between attempts in the readable style Haraka uses:
// "5m, 10m, 30m, 1h*2, 2h*2, 4h*20" = 5 min before the 2nd attempt, 10 min before the 3rd, 30 min before
// the 4th, 1 h before the 5th and 6th… When the list runs out its last wait repeats; a recipient fails
// (gives up) once its message is older than DELIVERY_MAX_AGE, with one last attempt at that age.
// Parsing the settings lives in src/shared (the configuration reads them without loading delivery code).
import { parseDuration, parseRetryPolicy, parseRetrySchedule, type RetryPolicy } from '../shared/retry-schedule.ts';

export { parseDuration, parseRetryPolicy, parseRetrySchedule, type RetryPolicy };

/**
 * After `attempts` failed attempts (counting the one that just failed), when to try again; null when the
 * message is past its maximum age and the recipient has failed for good.
 */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, createdAt: Date, now: Date): Date | null {
  const deadline = createdAt.getTime() + policy.maxAgeMs;
  if (now.getTime() >= deadline) return null;
  const i = Math.min(Math.max(attempts, 1), policy.delaysMs.length) - 1;
  return new Date(Math.min(now.getTime() + policy.delaysMs[i]!, deadline));
}

/** "1h 30m" style, for error texts ("gave up after 4 days"). */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms));
  for (const [size, unit] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(' ') : `${rest}ms`;
}
