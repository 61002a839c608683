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
import { describeAllowedNetworks } from './allowed-networks.ts';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface SendingPolicyPatch {
  /** Normalized rules (parseAllowedSenders); [] or null: any sender. Undefined: unchanged. */
  allowedSenders?: string[] | null;
  /** null: no limit. Undefined: unchanged. */
  rateLimit?: RateLimit | null;
  /** Normalized CIDRs (parseAllowedNetworks); [] or null: anywhere. Undefined: unchanged. */
  allowedNetworks?: string[] | null;
}

export async function setSendingPolicy(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, patch: SendingPolicyPatch): Promise<Account> {
  authorize(actor, 'account.limits');
  if (patch.allowedSenders === undefined && patch.rateLimit === undefined && patch.allowedNetworks === undefined) {
    throw new DomainError('INPUT.INVALID', 'Nothing to change: give allowed senders, a rate limit, allowed networks, or several.');
  }
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  // Unchanged networks are left out, so that the store does not end the account's open sessions for nothing.
  const sameNetworks = patch.allowedNetworks !== undefined && sameList(patch.allowedNetworks ?? [], account.allowedNetworks ?? []);
  const store = sameNetworks ? { ...patch, allowedNetworks: undefined } : patch;
  const updated = await ctx.accounts.setSendingPolicy(account.id, store);
  if (!updated) throw new DomainError('ACCOUNT.NOT_FOUND', `No account named "${name}".`, { name });
  const details: Record<string, unknown> = {};
  if (patch.allowedSenders !== undefined) {
    details.allowedSenders = { from: account.allowedSenders, to: updated.allowedSenders, text: describeAllowedSenders(updated.allowedSenders) };
  }
  if (patch.rateLimit !== undefined) details.rateLimit = { from: formatRateLimit(account.rateLimit), to: formatRateLimit(updated.rateLimit) };
  if (patch.allowedNetworks !== undefined) {
    details.allowedNetworks = { from: account.allowedNetworks ?? [], to: updated.allowedNetworks ?? [], text: describeAllowedNetworks(updated.allowedNetworks) };
  }
  await recordChange(ctx, actor, 'account.limits_changed', workspaceId, { account: updated, details });
  return updated;
}
