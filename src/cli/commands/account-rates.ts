// The 30-day rates (later bounces and complaints included; src/domain/reputation.ts) as `accounts show` and
// `usage` print them.
import { accountRates, percent, type AccountRates } from '../../domain/index.ts';
import { formatCount } from '../../shared/format.ts';
import { laterOutcomeRepository } from '../../store/later-outcomes.ts';
import type { CliContext } from '../command.ts';

export async function readAccountRates(cli: CliContext, accountIds: readonly string[]): Promise<Map<string, AccountRates>> {
  return accountRates(laterOutcomeRepository((await cli.runtime()).db.models), accountIds, new Date());
}

/** Beside `delivered` and `bounced` in --json: the window's complaints and rates. */
export function ratesJson(r: AccountRates) {
  return { complaints: r.complaints, bounceRate: r.bounceRate, complaintRate: r.complaintRate };
}

export function rateFields(r: AccountRates): [string, string][] {
  return [
    ['Bounce rate (30 d)', `${percent(r.bounceRate)} (${formatCount(r.bounced)} of ${formatCount(r.delivered + r.bounced + r.failed)}, later bounces included)`],
    ['Complaint rate (30 d)', `${percent(r.complaintRate)} (${formatCount(r.complaints)})`],
  ];
}
