// Readable retry schedules, in the style of Haraka's: "10s, 1m, 5m*2, 1h" = wait 10 s before the
// second attempt, 1 min before the third, 5 min before the fourth and the fifth, 1 h before the sixth.
// The number of delays bounds the attempts: attempts = delays + 1.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "10s", "5m", "2h", "4d" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/i.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (expected e.g. 250ms, 10s, 5m, 2h, 4d)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!);
}

/** "10s, 1m, 5m*2" -> [10000, 60000, 300000, 300000]. Throws on a malformed entry. */
export function parseRetrySchedule(text: string): number[] {
  const delays: number[] = [];
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [duration, times] = entry.split('*').map((s) => s.trim());
    const count = times === undefined ? 1 : Number(times);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error(`bad repeat count in "${entry}"`);
    const ms = parseDuration(duration ?? '');
    for (let i = 0; i < count; i++) delays.push(ms);
  }
  if (delays.length === 0) throw new Error('a retry schedule needs at least one delay');
  return delays;
}

export interface RetryPolicy {
  /** Wait before attempt n+1 after n failed attempts: delaysMs[n-1], the last one repeating. */
  delaysMs: readonly number[];
  /** Age of a message past which a temporary failure becomes final. */
  maxAgeMs: number;
}

/** Parses and checks both settings; throws an Error naming the setting and what is wrong. */
export function parseRetryPolicy(schedule: string, maxAge: string): RetryPolicy {
  let delaysMs: number[];
  try {
    delaysMs = parseRetrySchedule(schedule);
  } catch (err) {
    throw new Error(`DELIVERY_RETRY_SCHEDULE: ${(err as Error).message} (e.g. "5m, 10m, 30m, 1h*2, 2h*2, 4h*20")`);
  }
  if (delaysMs.some((d) => d <= 0)) throw new Error('DELIVERY_RETRY_SCHEDULE: every wait must be longer than zero');
  let maxAgeMs: number;
  try {
    maxAgeMs = parseDuration(maxAge);
  } catch (err) {
    throw new Error(`DELIVERY_MAX_AGE: ${(err as Error).message}`);
  }
  if (maxAgeMs <= 0) throw new Error('DELIVERY_MAX_AGE: must be longer than zero');
  return { delaysMs, maxAgeMs };
}
