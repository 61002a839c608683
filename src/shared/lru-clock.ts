// The clock of an lru-cache when the code around it takes one (tests move it instead of waiting). Production
// passes none and lru-cache uses performance.now(), which is monotonic.
import type { LRUCache } from 'lru-cache';

export function lruClock(now?: () => number): Pick<LRUCache.OptionsBase<object, object, unknown>, 'perf' | 'ttlResolution'> {
  if (!now) return {};
  return {
    // lru-cache reads a start time of 0 as "no TTL": a test clock that starts at 0 is shifted by a millisecond,
    // which changes no age.
    perf: { now: () => now() + 1 },
    // Read the clock at every check, so a test that moves it sees the change at once (the default caches it 1 ms).
    ttlResolution: 0,
  };
}
