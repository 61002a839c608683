// The use case behind `smtpdesk accounts set` and the Slack "Sending limits" modal: allowed senders and rate
// limit of an account. The relay reads both with the account it already reads (AUTH, every MAIL FROM).
import type { Actor } from './actor.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { Account } from './model.ts';
import { authorize } from './permissions.ts';
import { formatRateLimit, type RateLimit } from './rate-limit.ts';
import { describeAllowedSenders } from './sender-policy.ts';

export interface SendingPolicyPatch {
  /** Normalized rules (parseAllowedSenders); [] or null: any sender. Undefined: unchanged. */
  allowedSenders?: string[] | null;
  /** null: no limit. Undefined: unchanged. */
  rateLimit?: RateLimit | null;
}

export async function setSendingPolicy(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, patch: SendingPolicyPatch): Promise<Account> {
  authorize(actor, 'account.limits');
  if (patch.allowedSenders === undefined && patch.rateLimit === undefined) {
    throw new DomainError('INPUT.INVALID', 'Nothing to change: give allowed senders, a rate limit, or both.');
  }
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const updated = await ctx.accounts.setSendingPolicy(account.id, patch);
  if (!updated) throw new DomainError('ACCOUNT.NOT_FOUND', `No account named "${name}".`, { name });
  const details: Record<string, unknown> = {};
  if (patch.allowedSenders !== undefined) {
    details.allowedSenders = { from: account.allowedSenders, to: updated.allowedSenders, text: describeAllowedSenders(updated.allowedSenders) };
  }
  if (patch.rateLimit !== undefined) details.rateLimit = { from: formatRateLimit(account.rateLimit), to: formatRateLimit(updated.rateLimit) };
  await recordChange(ctx, actor, 'account.limits_changed', workspaceId, { account: updated, details });
  return updated;
}
