// The flag rules as a table: idle boundaries, slot and quota levels, when an alert is due, consolidation.
import { describe, expect, it } from 'vitest';
import { consolidationCandidates, DAY_MS, isIdle, planAlertDue, planFlagKeys, planLimitStatus, PLANS, quotaThreshold, slotLevel } from '../../src/domain/index.ts';

const now = new Date('2026-11-15T09:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS);
const plan = (id: string) => PLANS.find((p) => p.id === id)!;

describe('idle accounts', () => {
  it.each([
    ['last send 59 days ago', { lastUsedAt: daysAgo(59), createdAt: daysAgo(400) }, false],
    ['last send exactly 60 days ago', { lastUsedAt: daysAgo(60), createdAt: daysAgo(400) }, true],
    ['last send 61 days ago', { lastUsedAt: daysAgo(61), createdAt: daysAgo(400) }, true],
    ['never used, created 59 days ago', { createdAt: daysAgo(59) }, false],
    ['never used, created 60 days ago', { createdAt: daysAgo(60) }, true],
    ['idle 90 days but kept until tomorrow', { lastUsedAt: daysAgo(90), createdAt: daysAgo(400), idleSnoozedUntil: daysAgo(-1) }, false],
    ['idle 90 days, kept until yesterday', { lastUsedAt: daysAgo(90), createdAt: daysAgo(400), idleSnoozedUntil: daysAgo(1) }, true],
  ])('%s: idle=%s', (_label, account, idle) => {
    expect(isIdle(account, now, 60)).toBe(idle);
  });
});

describe('slots near the plan limit (80 % or one slot left)', () => {
  it.each([
    ['10k', 3, 'ok'],
    ['10k', 4, 'near'],
    ['10k', 5, 'full'],
    ['20k', 7, 'ok'],
    ['20k', 8, 'near'],
    ['20k', 9, 'near'],
    ['20k', 10, 'full'],
  ] as const)('%s plan with %i accounts: %s', (id, used, level) => {
    expect(slotLevel(used, plan(id).accountSlots, 80)).toBe(level);
  });

  it('one slot left is near even when the percentage is set higher', () => {
    expect(slotLevel(4, 5, 95)).toBe('near');
    expect(slotLevel(8, 10, 95)).toBe('ok');
  });
});

describe('emails this month against the quota (80 % and 100 %)', () => {
  it.each([
    ['10k', 7_999, null],
    ['10k', 8_000, 80],
    ['10k', 9_999, 80],
    ['10k', 10_000, 100],
    ['20k', 15_999, null],
    ['20k', 16_000, 80],
    ['20k', 20_000, 100],
  ] as const)('%s plan with %i emails: threshold %s', (id, used, threshold) => {
    expect(quotaThreshold(used, plan(id).monthlyEmails, [80, 100])).toBe(threshold);
  });

  it('names the flags with the month, so a new month is a new flag', () => {
    const s = planLimitStatus(plan('10k'), { slotsUsed: 4, emailsThisMonth: 8_500, month: '2026-11' }, { slotsNearLimitPercent: 80, quotaNearLimitPercents: [80, 100] });
    expect(s.nearLimit).toBe(true);
    expect(planFlagKeys(s)).toEqual(['slots:near', 'quota:80@2026-11']);
    expect(s.slots).toMatchObject({ used: 4, limit: 5, free: 1, percent: 80 });
    expect(s.quota).toMatchObject({ used: 8_500, limit: 10_000, percent: 85, threshold: 80 });
  });
});

describe('when a plan alert is due', () => {
  it.each([
    [[], ['slots:near'], true],
    [['slots:near'], ['slots:near'], false],
    [['slots:near'], ['slots:full'], true],
    [['slots:full'], ['slots:near'], false],
    [['quota:80@2026-11'], ['quota:100@2026-11'], true],
    [['quota:100@2026-11'], ['quota:80@2026-11'], false],
    [['quota:80@2026-11'], ['quota:80@2026-12'], true],
    [['slots:near', 'quota:80@2026-11'], ['quota:80@2026-11'], false],
    [['slots:near'], [], false],
  ])('%j -> %j: %s', (before, after, due) => {
    expect(planAlertDue(before, after)).toBe(due);
  });
});

describe('consolidation candidates', () => {
  it('groups accounts of one environment and accounts with a common name prefix', () => {
    const names = ['staging-checkout', 'staging billing', 'stg-alerts', 'production-transactional', 'billing-team-invoices', 'billing-team-reminders', 'checkout-prod', 'crm'];
    const groups = consolidationCandidates(names.map((name) => ({ name })));
    expect(groups).toEqual([
      { key: 'staging', basis: 'environment', accounts: ['staging billing', 'staging-checkout', 'stg-alerts'], slotsFreed: 2 },
      { key: 'production', basis: 'environment', accounts: ['checkout-prod', 'production-transactional'], slotsFreed: 1 },
      { key: 'billing-team', basis: 'prefix', accounts: ['billing-team-invoices', 'billing-team-reminders'], slotsFreed: 1 },
    ]);
  });

  it('does not group one app across environments, nor accounts that share only a generic word', () => {
    const groups = consolidationCandidates(['checkout-staging', 'checkout-prod', 'smtp-a', 'smtp-b'].map((name) => ({ name })));
    expect(groups).toEqual([]);
  });
});
