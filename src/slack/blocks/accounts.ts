// How accounts look in Slack: the list line (slash command and App Home), the detail view, credentials.
import {
  describeAllowedNetworks,
  describeAllowedSenders,
  describeRateLimit,
  percent,
  type AccountDailyStats,
  type AccountRates,
  type AccountView,
  type IssuedCredentials,
} from '../../domain/index.ts';
import { ACTION } from '../ids.ts';
import { button } from './common.ts';
import { formatAgo, formatCount, formatDate, formatDateTime, formatRate, formatStatus, formatTrend, humanReason, sparkline } from '../../shared/format.ts';
import { contextLine, esc, fields, header, linesToSections, section, type Block } from './common.ts';

const STATUS_ICON = { active: ':large_green_circle:', disabled: ':red_circle:' } as const;

/** Title line of an account: icon, name, username, status. */
export function accountTitle(a: Pick<AccountView, 'name' | 'username' | 'status'>): string {
  return `${STATUS_ICON[a.status]} *${esc(a.name)}*  \`${a.username}\`  ${formatStatus(a.status)}`;
}

/** The numbers every list shows: total sent, this month, delivery rate, last used, activity, created. */
export function accountStats(a: AccountView, now: Date): string {
  return [
    `Total sent ${formatCount(a.counters.sent)}`,
    `This month ${formatCount(a.sentThisMonth)}`,
    `Delivery ${formatRate(a.deliveryRate)}`,
    `Last used ${formatAgo(a.lastUsedAt, now)}`,
    `Activity *${a.activity}*`,
    `Created ${formatDate(a.createdAt)}`,
  ].join('  ·  ');
}

/** "30 days `▁▂▅█` · delivery 97.0% ↓ from 99.0%": the daily sends and where the delivery rate is going. */
export function accountTrendLine(d: AccountDailyStats): string {
  return `${d.days.length} days \`${sparkline(d.days.map((x) => x.sent))}\`  ·  delivery ${formatTrend(d.trend)}`;
}

/** "30 days: bounces 2.1 % · complaints 0.00 %" (later bounces and complaints included). */
export function accountRatesLine(r: AccountRates): string {
  return `${r.days} days: bounces ${percent(r.bounceRate)}  ·  complaints ${percent(r.complaintRate)}`;
}

export function accountListBlocks(accounts: AccountView[], opts: { now: Date; idleDays?: number; command: string }): Block[] {
  const title = opts.idleDays !== undefined ? `Accounts idle for ${opts.idleDays}+ days` : 'SMTP accounts';
  if (accounts.length === 0) {
    return [
      section(
        opts.idleDays !== undefined ? `No account has been idle for ${opts.idleDays} days or more.` : `No SMTP accounts yet. Create one with \`${opts.command} create NAME\`.`,
      ),
    ];
  }
  const lines = accounts.map((a) => `${accountTitle(a)}\n${accountStats(a, opts.now)}`);
  return [
    header(`${title} (${accounts.length})`),
    ...linesToSections(lines, '\n\n').slice(0, 45),
    contextLine(`\`${opts.command} show NAME\` for details · \`${opts.command} list --idle 60\` for dormant accounts`),
  ];
}

export function accountDetailBlocks(
  a: AccountView & { queuedMessages: number },
  now: Date,
  daily?: AccountDailyStats,
  opts: { canEditLimits?: boolean; rates?: AccountRates } = {},
): Block[] {
  const blocks: Block[] = [section(accountTitle(a))];
  const pairs: [string, string][] = [
    ['Total sent', formatCount(a.counters.sent)],
    ['Sent this month', formatCount(a.sentThisMonth)],
    ['Delivery rate', formatRate(a.deliveryRate)],
    ['Delivered / bounced', `${formatCount(a.counters.delivered)} / ${formatCount(a.counters.bounced)}`],
    ['Deferred / failed', `${formatCount(a.counters.deferred)} / ${formatCount(a.counters.failed)}`],
    ['Queued now', formatCount(a.queuedMessages)],
    ['Last used', a.lastUsedAt ? `${formatAgo(a.lastUsedAt, now)} (${formatDateTime(a.lastUsedAt)})` : 'never'],
    ['Activity', a.activity],
    ['Created', `${formatDate(a.createdAt)} by ${esc(a.createdBy)}`],
    ['Allowed senders', esc(describeAllowedSenders(a.allowedSenders))],
    ['Allowed networks', esc(describeAllowedNetworks(a.allowedNetworks))],
    ['Rate limit', describeRateLimit(a.rateLimit)],
  ];
  if (a.passwordLeak) pairs.push(['Password leaked', `${formatDateTime(a.passwordLeak.at)}: rotate before enabling`]);
  const prev = a.previousPassword;
  if (prev && prev.validUntil.getTime() > now.getTime()) {
    pairs.push(['Old password', `valid until ${formatDateTime(prev.validUntil)}; last used ${prev.lastUsedAt ? formatAgo(prev.lastUsedAt, now) : 'never since the rotate'}`]);
  }
  if (daily) {
    pairs.push(
      [`Sent, last ${daily.days.length} days`, `\`${sparkline(daily.days.map((d) => d.sent))}\` ${formatCount(daily.totals.sent)}`],
      ['Delivery trend', formatTrend(daily.trend)],
    );
  }
  if (opts.rates) {
    const r = opts.rates;
    pairs.push(
      [`Bounce rate, ${r.days} days`, `${percent(r.bounceRate)} (${formatCount(r.bounced)} of ${formatCount(r.delivered + r.bounced + r.failed)}, later bounces included)`],
      [`Complaint rate, ${r.days} days`, `${percent(r.complaintRate)} (${formatCount(r.complaints)})`],
    );
  }
  blocks.push(...fields(pairs));
  if (opts.canEditLimits) blocks.push({ type: 'actions', elements: [button('Sending limits', ACTION.limits, a.name)] });
  if (a.status === 'disabled' && a.disabled) {
    const note = a.disabled.note ? ` — “${esc(a.disabled.note)}”` : '';
    blocks.push(section(`:no_entry: Disabled ${formatDateTime(a.disabled.at)} by ${esc(a.disabled.by)}: *${humanReason(a.disabled.reason)}*${note}`));
  }
  return blocks;
}

/** The one message that carries a password: to the requester only, never to a channel or a log. */
export function credentialsBlocks(c: IssuedCredentials, verb: 'created' | 'rotated'): { text: string; blocks: Block[] } {
  const prev = c.account.previousPassword;
  const what =
    verb === 'created'
      ? `Created SMTP account *${esc(c.account.name)}*.`
      : `New password for *${esc(c.account.name)}*; ${prev ? `the old one keeps working until ${formatDateTime(prev.validUntil)}.` : 'the old one no longer works.'}`;
  return {
    text: `${verb === 'created' ? 'Created' : 'Rotated'} ${c.account.name}: credentials inside (only you can see this).`,
    blocks: [
      section(`:key: ${what}`),
      section(`*Username*\n\`${c.username}\`\n*Password*\n\`${c.password}\``),
      section(
        ':warning: *Store the password in your secrets manager now.* It is shown only this once, only to you, and cannot be shown again (rotate the account to get a new one).',
      ),
    ],
  };
}
