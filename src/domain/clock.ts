export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** Calendar month key used by quotas and monthly counters (UTC), e.g. "2026-11". */
export function monthKey(at: Date): string {
  return at.toISOString().slice(0, 7);
}

export const DAY_MS = 86_400_000;
