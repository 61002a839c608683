// DELIVERY_RETRY_SCHEDULE and DELIVERY_MAX_AGE: the readable schedule, its errors, and when each retry happens.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { nextAttemptAt, parseRetryPolicy } from '../../src/delivery/retry-policy.ts';

const MIN = 60_000;
const H = 60 * MIN;

describe('parseRetryPolicy', () => {
  it.each([
    ['5m, 10m, 30m, 1h*2, 2h*2, 4h*20', '4d', [5 * MIN, 10 * MIN, 30 * MIN, H, H, 2 * H, 2 * H, ...Array(20).fill(4 * H)], 4 * 24 * H],
    ['1s', '30s', [1000], 30_000],
    ['250ms,2s*2', '1h', [250, 2000, 2000], H],
  ])('reads "%s" with max age %s', (schedule, maxAge, delays, maxAgeMs) => {
    expect(parseRetryPolicy(schedule, maxAge)).toEqual({ delaysMs: delays, maxAgeMs });
  });

  it.each([
    ['5 minutes', '4d', /^DELIVERY_RETRY_SCHEDULE: not a duration: "5 minutes"/],
    ['5m, , 1h*x', '4d', /^DELIVERY_RETRY_SCHEDULE: bad repeat count in "1h\*x"/],
    ['', '4d', /^DELIVERY_RETRY_SCHEDULE: a retry schedule needs at least one delay/],
    ['0s', '4d', /^DELIVERY_RETRY_SCHEDULE: every wait must be longer than zero/],
    ['5m', 'four days', /^DELIVERY_MAX_AGE: not a duration: "four days"/],
  ])('refuses "%s" / "%s" with a clear message', (schedule, maxAge, message) => {
    expect(() => parseRetryPolicy(schedule, maxAge)).toThrow(message);
  });
});

describe('nextAttemptAt', () => {
  const policy = parseRetryPolicy('5m, 10m, 1h*2', '4d');
  const created = new Date('2026-11-15T12:00:00Z');
  const at = (ms: number) => new Date(created.getTime() + ms);

  it('waits the n-th delay after the n-th failed attempt, then repeats the last one', () => {
    expect(nextAttemptAt(policy, 1, created, at(0))).toEqual(at(5 * MIN));
    expect(nextAttemptAt(policy, 2, created, at(5 * MIN))).toEqual(at(15 * MIN));
    expect(nextAttemptAt(policy, 4, created, at(2 * H))).toEqual(at(3 * H));
    expect(nextAttemptAt(policy, 9, created, at(10 * H))).toEqual(at(11 * H));
  });

  it('makes one last attempt at the maximum age, then gives up', () => {
    expect(nextAttemptAt(policy, 30, created, at(96 * H - 10 * MIN))).toEqual(at(96 * H));
    expect(nextAttemptAt(policy, 31, created, at(96 * H))).toBeNull();
    expect(nextAttemptAt(policy, 1, created, at(100 * H))).toBeNull();
  });
});

describe('the configuration', () => {
  it('refuses bad delivery settings at start, listing each one', () => {
    let error: unknown;
    try {
      loadConfig({ DELIVERY_RETRY_SCHEDULE: '5m, 1x', RELAY_UPSTREAM_URL: 'smtp://user:100%@host', DELIVERY_HELO_NAME: 'mail.example.com\r\nX-Injected: 1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^DELIVERY_RETRY_SCHEDULE: not a duration: "1x"/),
      expect.stringMatching(/^RELAY_UPSTREAM_URL: /),
      expect.stringMatching(/^DELIVERY_HELO_NAME: ".*" is not a host name/s),
    ]);
  });

  it('accepts the defaults and a smarthost URL with an encoded password', () => {
    const c = loadConfig({ RELAY_UPSTREAM_URL: 'smtp://relay%40corp:p%3Ass@smtp.example.net:587' });
    expect(c.delivery).toMatchObject({ retrySchedule: '5m, 10m, 30m, 1h*2, 2h*2, 4h*20', maxAge: '4d', heloName: 'localhost', sendBounces: true });
  });
});
