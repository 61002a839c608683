// The surge rules, table by table: what the last hour must look like against the account's own history.
import { describe, expect, it } from 'vitest';
import { networkOf, observeSurge, HOUR_MS, type AccountHour } from '../../src/domain/index.ts';
import { parseAllowedSenders, allowingRule, checkSenders } from '../../src/domain/index.ts';
import { parseRateLimit, rateWindow } from '../../src/domain/index.ts';

const t = { factor: 5, minRecipients: 50, minRefused: 20, historyDays: 14 };
const now = new Date('2026-11-20T10:30:00Z');
const hour = (hoursAgo: number, recipients: number, extra: Partial<AccountHour> = {}): AccountHour => ({
  accountId: 'a',
  workspaceId: 'w',
  hour: new Date(Date.parse('2026-11-20T10:00:00Z') - hoursAgo * HOUR_MS),
  recipients,
  refused: 0,
  networks: ['10.0.0.0/24'],
  ...extra,
});
const history = Array.from({ length: 100 }, (_, i) => hour(i + 2, i === 10 ? 12 : 3));

describe('observeSurge', () => {
  it.each([
    ['a quiet hour', [hour(0, 10)], []],
    ['over 5x the peak but under 50', [hour(0, 49)], []],
    ['over 5x the peak and at least 50', [hour(0, 61)], ['volume']],
    ['50 but not over 5x the peak (60)', [hour(0, 55)], []],
    ['the previous hour counts for the half still within 60 minutes', [hour(1, 100), hour(0, 20)], ['volume']],
  ])('%s', (_name, recent, signals) => {
    expect(observeSurge([...history, ...recent], now, t).map((o) => o.signal)).toEqual(signals);
  });

  it('a network never used in the history, while sending; not for an account without history', () => {
    const fresh = [hour(0, 5, { networks: ['203.0.113.0/24'] })];
    const seen = observeSurge([...history, ...fresh], now, t);
    expect(seen.map((o) => o.signal)).toEqual(['network']);
    expect(seen[0]!.newNetworks).toEqual(['203.0.113.0/24']);
    expect(observeSurge(fresh, now, t)).toEqual([]);
  });

  it('a spike of refusals', () => {
    expect(observeSurge([...history, hour(0, 1, { refused: 30 })], now, t).map((o) => o.signal)).toEqual(['refused']);
    expect(observeSurge([...history, hour(0, 1, { refused: 10 })], now, t)).toEqual([]);
  });

  it('networks: IPv4 /24 and IPv6 /48', () => {
    expect(networkOf('192.0.2.77')).toBe('192.0.2.0/24');
    expect(networkOf('::ffff:192.0.2.77')).toBe('192.0.2.0/24');
    expect(networkOf('2001:db8:1:2::5')).toBe('2001:db8:1::/48');
  });
});

describe('allowed-sender rules', () => {
  const rules = parseAllowedSenders('NoReply@Acme.test, *@billing.acme.test; news.acme.test *.apps.acme.test');
  it.each([
    ['noreply@acme.test', 'noreply@acme.test'],
    ['other@acme.test', null],
    ['x@billing.acme.test', 'billing.acme.test'],
    ['x@sub.billing.acme.test', null],
    ['y@news.acme.test', 'news.acme.test'],
    ['z@one.apps.acme.test', '*.apps.acme.test'],
    ['z@apps.acme.test', null],
  ])('%s -> %s', (address, rule) => {
    expect(allowingRule(rules, address)).toBe(rule);
  });
  it('no rules allow any sender; the null sender always passes', () => {
    expect(checkSenders([], ['anyone@x.test'])).toEqual({ ok: true });
    expect(checkSenders(rules, [''])).toEqual({ ok: true });
  });
});

describe('rate limits', () => {
  it('parses units and aligns windows to the UTC minute, hour, day', () => {
    expect(parseRateLimit('100/h')).toEqual({ limit: 100, per: 'h' });
    expect(parseRateLimit('5/minute')).toEqual({ limit: 5, per: 'm' });
    expect(parseRateLimit('none')).toBeNull();
    expect(() => parseRateLimit('0/h')).toThrow(/Not a rate limit/);
    expect(rateWindow({ limit: 1, per: 'h' }, new Date('2026-11-20T10:42:13Z'))).toEqual({ start: new Date('2026-11-20T10:00:00Z'), end: new Date('2026-11-20T11:00:00Z') });
  });
});
