// Readable retry schedules ("10s, 1m, 5m*2"): what reads, and what is refused.
import { describe, expect, it } from 'vitest';
import { parseDuration, parseRetrySchedule } from '../../src/shared/retry-schedule.ts';

describe('retry schedule', () => {
  it('reads delays with repeats', () => {
    expect(parseRetrySchedule('10s, 1m, 5m*2, 250ms')).toEqual([10_000, 60_000, 300_000, 300_000, 250]);
    expect(parseDuration('2h')).toBe(7_200_000);
  });
  it.each(['', '10', '5x', '1m*0', '1m*two'])('refuses "%s"', (text) => {
    expect(() => parseRetrySchedule(text)).toThrow();
  });
});
