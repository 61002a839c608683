// Usage of a workspace against its plan, and the counting done by the relay and delivery.
import type { Actor } from './actor.ts';
import { dayKey, monthKey } from './clock.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { DeliveryCounters } from './model.ts';
import { authorize } from './permissions.ts';
import { getPlan, nextPlanUp, type Plan } from './plans.ts';
import { getWorkspaceOrThrow } from './workspaces.ts';

export interface UsageSummary {
  workspaceId: string;
  workspaceName: string;
  month: string;
  plan: Plan;
  nextPlan?: Plan;
  emailsThisMonth: number;
  slotsUsed: number;
}

export async function usageSummary(ctx: DomainContext, actor: Actor, workspaceId: string): Promise<UsageSummary> {
  authorize(actor, 'usage.show');
  return readUsage(ctx, workspaceId);
}

/** Without a permission check: for jobs and dashboards that already know the viewer may see it. */
export async function readUsage(ctx: DomainContext, workspaceId: string): Promise<UsageSummary> {
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const plan = getPlan(ws.planId);
  const month = monthKey(ctx.clock());
  const [emailsThisMonth, slotsUsed] = await Promise.all([ctx.usage.workspaceSent(workspaceId, month), ctx.accounts.countByWorkspace(workspaceId)]);
  return { workspaceId, workspaceName: ws.name, month, plan, nextPlan: nextPlanUp(plan.id), emailsThisMonth, slotsUsed };
}

/**
 * Reserves `emails` (one per recipient) of the workspace's monthly quota before a message is accepted.
 * Atomic: parallel sessions cannot overshoot. Returns a release function for when storing fails.
 */
export async function reserveQuota(ctx: DomainContext, workspaceId: string, planId: string, emails: number): Promise<{ month: string; release: () => Promise<void> }> {
  const plan = getPlan(planId);
  const month = monthKey(ctx.clock());
  if (!(await ctx.usage.reserveWorkspaceEmails(workspaceId, month, emails, plan.monthlyEmails))) {
    throw quotaExceeded(plan, await ctx.usage.workspaceSent(workspaceId, month), emails);
  }
  return { month, release: () => ctx.usage.releaseWorkspaceEmails(workspaceId, month, emails) };
}

/** The answer to a message whose recipients do not fit in what is left of the month's quota. */
export function quotaExceeded(plan: Plan, used: number, requested: number): DomainError {
  return new DomainError(
    'QUOTA.EXCEEDED',
    `Monthly quota of ${plan.monthlyEmails.toLocaleString('en-US')} emails (plan ${plan.id}) reached: ${used.toLocaleString('en-US')} used, this message has ${requested} recipient(s).`,
    { quota: plan.monthlyEmails, used, requested, plan: plan.id },
  );
}

/** Counts an accepted message: total sent, sent this month and last used of the account. */
export async function recordAcceptedMessage(ctx: DomainContext, account: { id: string; workspaceId: string }, recipients: number, at: Date = ctx.clock()): Promise<void> {
  await Promise.all(acceptedMessageCounts(ctx, account, recipients, at).map((step) => step.run()));
}

/**
 * The same counting as independent writes (two documents, no transaction), so that a caller retrying after a
 * failure redoes only the step that failed: redoing both after one of them succeeded counted the message
 * twice (found by `npm run test:soak` when the database stopped mid-write).
 */
export function acceptedMessageCounts(
  ctx: DomainContext,
  account: { id: string; workspaceId: string },
  recipients: number,
  at: Date = ctx.clock(),
): { name: 'account-totals' | 'account-month' | 'account-day'; run: () => Promise<void> }[] {
  return [
    { name: 'account-totals', run: () => ctx.accounts.recordAccepted(account.id, recipients, at) },
    { name: 'account-month', run: () => ctx.usage.addAccountMonth(account.workspaceId, account.id, monthKey(at), { sent: recipients }) },
    { name: 'account-day', run: () => ctx.usage.addAccountDay(account.workspaceId, account.id, dayKey(at), { sent: recipients }) },
  ];
}

/** Counts delivery outcomes (delivered, bounced, deferred, failed) for the account, all time and this month. */
export async function recordDeliveryOutcome(
  ctx: DomainContext,
  account: { id: string; workspaceId: string },
  delta: Partial<Omit<DeliveryCounters, 'sent'>>,
  at: Date = ctx.clock(),
): Promise<void> {
  await Promise.all([
    ctx.accounts.addCounters(account.id, delta),
    ctx.usage.addAccountMonth(account.workspaceId, account.id, monthKey(at), delta),
    ctx.usage.addAccountDay(account.workspaceId, account.id, dayKey(at), delta),
  ]);
}
