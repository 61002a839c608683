// The audit trail: every change, who made it, when, and from where.
import { auditActor, type Account, type AuditEntry } from './model.ts';
import type { Actor } from './actor.ts';
import type { DomainContext } from './context.ts';
import { authorize } from './permissions.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import type { AccountSummary, DomainEvent, EventType } from './events.ts';

export function accountSummary(a: Account): AccountSummary {
  return { id: a.id, name: a.name, username: a.username, status: a.status };
}

/** Writes the audit entry first (durable), then publishes the event to the subscribers. */
export async function recordChange(
  ctx: DomainContext,
  actor: Actor,
  type: EventType,
  workspaceId: string,
  opts: { account?: Account; details?: Record<string, unknown>; reason?: DomainEvent['reason']; note?: string } = {},
): Promise<void> {
  const at = ctx.clock();
  const entry: AuditEntry = { workspaceId, at, actor: auditActor(actor), action: type };
  if (opts.account) {
    entry.accountId = opts.account.id;
    entry.accountName = opts.account.name;
    entry.username = opts.account.username;
  }
  const details = { ...(opts.details ?? {}) };
  if (opts.reason) details.reason = opts.reason;
  if (opts.note) details.note = opts.note;
  if (Object.keys(details).length) entry.details = details;
  await ctx.audit.append(entry);

  const event: DomainEvent = { type, workspaceId, at, actor: auditActor(actor) };
  if (opts.account) event.account = accountSummary(opts.account);
  if (opts.reason) event.reason = opts.reason;
  if (opts.note) event.note = opts.note;
  if (opts.details) event.details = opts.details;
  await ctx.events.publish(event);
}

export async function listAudit(ctx: DomainContext, actor: Actor, workspaceId: string, opts: { accountName?: string; limit?: number } = {}): Promise<AuditEntry[]> {
  authorize(actor, 'audit.show');
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 1000);
  if (opts.accountName) {
    const account = await findAccountOrThrow(ctx, workspaceId, opts.accountName);
    return ctx.audit.list(workspaceId, { accountId: account.id, limit });
  }
  return ctx.audit.list(workspaceId, { limit });
}
