// Daily statistics per account (UTC days) and the accounts that use most of the month's quota.
import type { Actor } from './actor.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import { DAY_MS, dayKey, monthKey } from './clock.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { Account, DeliveryCounters } from './model.ts';
import { authorize } from './permissions.ts';
import { getPlan } from './plans.ts';
import { getWorkspaceOrThrow } from './workspaces.ts';

export interface DayCounts extends DeliveryCounters {
  day: string;
}

export interface DeliveryTrend {
  /** delivered ÷ (delivered + bounced + failed) over the last 7 days of the window; null without outcomes. */
  recent: number | null;
  /** The same over the rest of the window before them. */
  before: number | null;
  direction: 'up' | 'down' | 'flat' | null;
}

export interface AccountDailyStats {
  days: DayCounts[];
  totals: DeliveryCounters;
  trend: DeliveryTrend;
}

export const STATS_MAX_DAYS = 366;

/** The `n` UTC days ending today, oldest first. */
export function lastDays(now: Date, n: number): string[] {
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(dayKey(new Date(now.getTime() - i * DAY_MS)));
  return out;
}

const ZERO: DeliveryCounters = { sent: 0, delivered: 0, bounced: 0, deferred: 0, failed: 0 };

function sum(rows: readonly DeliveryCounters[]): DeliveryCounters {
  const t = { ...ZERO };
  for (const r of rows) for (const k of Object.keys(t) as (keyof DeliveryCounters)[]) t[k] += r[k];
  return t;
}

const rateOf = (c: DeliveryCounters) => (c.delivered + c.bounced + c.failed === 0 ? null : c.delivered / (c.delivered + c.bounced + c.failed));

/** The last 7 days against the days before them in the window; a move under one point is flat. */
export function deliveryTrend(days: readonly DayCounts[]): DeliveryTrend {
  const recent = rateOf(sum(days.slice(-7)));
  const before = rateOf(sum(days.slice(0, -7)));
  if (recent === null || before === null) return { recent, before, direction: null };
  const d = recent - before;
  return { recent, before, direction: Math.abs(d) < 0.01 ? 'flat' : d > 0 ? 'up' : 'down' };
}

function statsOf(days: readonly string[], perDay: Map<string, DeliveryCounters> | undefined): AccountDailyStats {
  const rows = days.map((day) => ({ day, ...(perDay?.get(day) ?? ZERO) }));
  return { days: rows, totals: sum(rows), trend: deliveryTrend(rows) };
}

/** Daily statistics of many accounts in one read (the App Home rows). */
export async function dailyStatsOf(ctx: DomainContext, accountIds: readonly string[], nDays = 30): Promise<Map<string, AccountDailyStats>> {
  const days = lastDays(ctx.clock(), nDays);
  const read = await ctx.usage.accountDays(accountIds, days);
  return new Map(accountIds.map((id) => [id, statsOf(days, read.get(id))]));
}

export async function accountDailyStats(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, nDays = 30): Promise<AccountDailyStats & { account: Account }> {
  authorize(actor, 'account.show');
  if (!Number.isInteger(nDays) || nDays < 1 || nDays > STATS_MAX_DAYS) {
    throw new DomainError('INPUT.INVALID', `The number of days must be between 1 and ${STATS_MAX_DAYS}.`, { field: 'days' });
  }
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const stats = (await dailyStatsOf(ctx, [account.id], nDays)).get(account.id)!;
  return { account, ...stats };
}

export interface QuotaConsumer {
  accountId: string;
  /** Undefined for an account deleted this month (its emails still count). */
  name?: string;
  sent: number;
  /** Share of the month's quota, 0..1+. */
  shareOfQuota: number;
  /** Share of the emails sent this month, 0..1. */
  shareOfSent: number;
}

/** Accounts by emails sent this month, most first, with their share of the quota. */
export async function topQuotaConsumers(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  limit = 10,
): Promise<{ month: string; quota: number; used: number; consumers: QuotaConsumer[] }> {
  authorize(actor, 'usage.show');
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const quota = getPlan(ws.planId).monthlyEmails;
  const month = monthKey(ctx.clock());
  const [months, accounts, used] = await Promise.all([
    ctx.usage.accountMonths(workspaceId, month),
    ctx.accounts.listByWorkspace(workspaceId),
    ctx.usage.workspaceSent(workspaceId, month),
  ]);
  const names = new Map(accounts.map((a) => [a.id, a.name]));
  const totalSent = [...months.values()].reduce((n, m) => n + m.sent, 0);
  const consumers = [...months.entries()]
    .filter(([, m]) => m.sent > 0)
    .map(([accountId, m]): QuotaConsumer => ({
      accountId,
      ...(names.has(accountId) ? { name: names.get(accountId)! } : {}),
      sent: m.sent,
      shareOfQuota: quota > 0 ? m.sent / quota : 0,
      shareOfSent: totalSent > 0 ? m.sent / totalSent : 0,
    }))
    .sort((a, b) => b.sent - a.sent || (a.name ?? '~').localeCompare(b.name ?? '~'))
    .slice(0, Math.max(1, limit));
  return { month, quota, used, consumers };
}
