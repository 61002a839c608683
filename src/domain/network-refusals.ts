// AUTHs refused because they came from outside an account's allowed networks. Each is the right password from
// the wrong place: one may be a moved application, several in an hour look like a leaked password in use. The
// relay counts them per account in the shared lockout counters; the refusal that reaches the threshold (exactly
// one across instances, once per episode) raises `account.network_refused`, which the alert channel shows with
// Disable and Expected buttons. "Expected" holds the alerts of that account for a while.
import type { Actor } from './actor.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { Account } from './model.ts';
import { authorize } from './permissions.ts';

/** Refusals within NETWORK_REFUSALS_WINDOW_MS that make an episode. */
export const NETWORK_REFUSALS_ALERT_AFTER = 3;
export const NETWORK_REFUSALS_WINDOW_MS = 3_600_000;
/** After an alert, no other for this account for this long: one alert per episode. */
export const NETWORK_REFUSALS_EPISODE_MS = 24 * 3_600_000;
/** "Expected": no alert for this long. */
export const NETWORK_REFUSALS_EXPECTED_MS = 7 * 24 * 3_600_000;

export const RELAY_ACTOR: Actor = { source: 'relay', id: 'relay', name: 'relay', roles: [] };

/** Audits and publishes an episode of refusals (the relay calls it once per episode). */
export async function raiseNetworkRefusals(ctx: DomainContext, account: Account, seen: { address: string; refusals: number }): Promise<void> {
  await recordChange(ctx, RELAY_ACTOR, 'account.network_refused', account.workspaceId, {
    account,
    details: { address: seen.address, refusals: seen.refusals, windowMinutes: NETWORK_REFUSALS_WINDOW_MS / 60_000, allowedNetworks: account.allowedNetworks ?? [] },
  });
}

/**
 * "Expected" on a network-refusal alert: no alert for the account until NETWORK_REFUSALS_EXPECTED_MS from now
 * (the refusals themselves go on: the password still does not work from there). Admins and responders, like
 * surge's Expected.
 */
export async function expectNetworkRefusals(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<{ account: Account; until: Date }> {
  authorize(actor, 'account.surge_snooze');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const until = new Date(ctx.clock().getTime() + NETWORK_REFUSALS_EXPECTED_MS);
  if (!ctx.holdNetworkRefusalAlerts) throw new DomainError('INPUT.INVALID', 'Network-refusal alerts cannot be held from this process.');
  await ctx.holdNetworkRefusalAlerts(account.id, until);
  await recordChange(ctx, actor, 'account.surge_snoozed', workspaceId, { account, details: { signals: ['network_refused'], until: until.toISOString() } });
  return { account, until };
}
