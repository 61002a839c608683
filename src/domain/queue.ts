// Use cases for the outbound queue: look into it, make deferred mail due now, and purge an account's
// queued mail. The CLI calls these (and any other adapter may); the delivery worker does the sending.
import type { Actor } from './actor.ts';
import { describeActor } from './actor.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import { authorize } from './permissions.ts';
import type { QueueChange, QueuedMessageView } from './queue-model.ts';
import { recordDeliveryOutcome } from './usage.ts';

export interface QueueListOptions {
  accountName?: string;
  state?: 'queued' | 'done';
  /** At most this many, newest first (default 50, at most 1000). */
  limit?: number;
}

export async function listQueue(ctx: DomainContext, actor: Actor, workspaceId: string, opts: QueueListOptions = {}): Promise<QueuedMessageView[]> {
  authorize(actor, 'queue.show');
  const limit = Math.min(Math.max(Math.floor(opts.limit ?? 50), 1), 1000);
  const account = opts.accountName ? await findAccountOrThrow(ctx, workspaceId, opts.accountName) : undefined;
  const messages = await ctx.queue.listMessages({ workspaceId, accountId: account?.id, state: opts.state, limit });
  return withAccountNames(ctx, workspaceId, messages);
}

export async function showQueuedMessage(ctx: DomainContext, actor: Actor, workspaceId: string, id: string): Promise<QueuedMessageView> {
  authorize(actor, 'queue.show');
  const message = /^[a-f0-9]{24}$/i.test(id.trim()) ? await ctx.queue.findMessage(workspaceId, id.trim().toLowerCase()) : null;
  if (!message) throw new DomainError('QUEUE.NOT_FOUND', `No queued message with id "${id}" in this workspace.`, { id });
  const [named] = await withAccountNames(ctx, workspaceId, [message]);
  return named!;
}

/** Every deferred recipient of the account's queued mail is tried again at the workers' next poll. */
export async function retryQueuedMail(ctx: DomainContext, actor: Actor, workspaceId: string, accountName: string): Promise<QueueChange> {
  authorize(actor, 'queue.retry');
  const account = await findAccountOrThrow(ctx, workspaceId, accountName);
  const change = await ctx.queue.makeDueNow(workspaceId, account.id, ctx.clock());
  await recordChange(ctx, actor, 'queue.retried', workspaceId, { account, details: { ...change } });
  return change;
}

/**
 * Gives up on the account's queued mail: every recipient still queued fails (counted as failed in the
 * account's statistics; no bounce notice is sent). Needs the account's exact name, as delete does.
 */
export async function purgeQueuedMail(ctx: DomainContext, actor: Actor, workspaceId: string, accountName: string, opts: { confirmName: string }): Promise<QueueChange> {
  authorize(actor, 'queue.purge');
  const account = await findAccountOrThrow(ctx, workspaceId, accountName);
  if (opts.confirmName !== account.name) {
    throw new DomainError('ACCOUNT.CONFIRMATION_MISMATCH', `Type the account's exact name, "${account.name}", to purge its queued mail.`, {
      expected: account.name,
    });
  }
  const at = ctx.clock();
  const change = await ctx.queue.failQueued(workspaceId, account.id, { at, reason: `purged by ${describeActor(actor)}` });
  if (change.recipients > 0) await recordDeliveryOutcome(ctx, account, { failed: change.recipients }, at);
  await recordChange(ctx, actor, 'queue.purged', workspaceId, { account, details: { ...change } });
  return change;
}

async function withAccountNames(ctx: DomainContext, workspaceId: string, messages: QueuedMessageView[]): Promise<QueuedMessageView[]> {
  if (messages.length === 0) return messages;
  const names = new Map((await ctx.accounts.listByWorkspace(workspaceId)).map((a) => [a.id, a.name]));
  return messages.map((m) => {
    const name = names.get(m.accountId);
    return name ? { ...m, accountName: name } : m;
  });
}
