export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** Calendar month key used by quotas and monthly counters (UTC), e.g. "2026-11". */
export function monthKey(at: Date): string {
  return at.toISOString().slice(0, 7);
}

export const DAY_MS = 86_400_000;

/** UTC day key of the daily counters, e.g. "2026-11-05". */
export function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10);
}
