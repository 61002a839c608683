import {
  accountDailyStats,
  dailyStatsOf,
  STATS_MAX_DAYS,
  createAccount,
  deleteAccount,
  disableAccount,
  enableAccount,
  listAccounts,
  previewAccountDeletion,
  rotateAccountPassword,
  setSendingPolicy,
  showAccount,
  parseAllowedSenders,
  parseRateLimit,
  parseAllowedNetworks,
  describeAllowedNetworks,
  describeAllowedSenders,
  describeRateLimit,
  formatRateLimit,
  type Account,
  type AccountView,
  type IssuedCredentials,
} from '../../domain/index.ts';
import { formatAgo, formatCount, formatDate, formatDateTime, formatRate, formatStatus, formatTrend, humanReason, sparkline } from '../../shared/format.ts';
import { intOption, requireArg, UsageError, type CliCommand } from '../command.ts';
import { parseDuration } from '../../shared/retry-schedule.ts';
import { renderFields, renderTable } from '../table.ts';
import { accountCredentialCommands } from './account-credentials.ts';
import { rateFields, ratesJson, readAccountRates } from './account-rates.ts';

export function accountRow(a: AccountView) {
  return {
    id: a.id,
    name: a.name,
    username: a.username,
    status: a.status,
    totalSent: a.counters.sent,
    sentThisMonth: a.sentThisMonth,
    delivered: a.counters.delivered,
    bounced: a.counters.bounced,
    deferred: a.counters.deferred,
    failed: a.counters.failed,
    deliveryRate: a.deliveryRate,
    activity: a.activity,
    lastUsedAt: a.lastUsedAt?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
    createdBy: a.createdBy,
    disabled: a.disabled ? { ...a.disabled, at: a.disabled.at.toISOString() } : null,
    ...limitsRow(a),
  };
}

/** Sending limits and a kept old password, as `show --json` and `set --json` print them. */
function limitsRow(a: Account) {
  return {
    allowedSenders: a.allowedSenders,
    allowedNetworks: a.allowedNetworks ?? [],
    rateLimit: a.rateLimit ? formatRateLimit(a.rateLimit) : null,
    passwordChangedAt: a.passwordChangedAt?.toISOString() ?? null,
    passwordLeak: a.passwordLeak ? { at: a.passwordLeak.at.toISOString(), url: a.passwordLeak.url ?? null, source: a.passwordLeak.source ?? null } : null,
    oldPassword: a.previousPassword ? { validUntil: a.previousPassword.validUntil.toISOString(), lastUsedAt: a.previousPassword.lastUsedAt?.toISOString() ?? null } : null,
  };
}

/** Lines of `accounts show` for the sending limits and a kept old password. */
function limitFields(a: Account, now = new Date()): [string, string][] {
  const fields: [string, string][] = [
    ['Allowed senders', describeAllowedSenders(a.allowedSenders)],
    ['Allowed networks', describeAllowedNetworks(a.allowedNetworks)],
    ['Rate limit', describeRateLimit(a.rateLimit)],
  ];
  if (a.passwordLeak) {
    const where = [a.passwordLeak.source, a.passwordLeak.url].filter(Boolean).join(' at ');
    fields.push(['Password leaked', `${formatDateTime(a.passwordLeak.at)}${where ? ` (${where})` : ''}: rotate before enabling`]);
  }
  const prev = a.previousPassword;
  if (prev && prev.validUntil.getTime() > now.getTime()) {
    fields.push([
      'Old password',
      `valid until ${formatDateTime(prev.validUntil)}; last used ${prev.lastUsedAt ? `${formatDateTime(prev.lastUsedAt)} (${formatAgo(prev.lastUsedAt, now)})` : 'never since the rotate'}`,
    ]);
  }
  return fields;
}

function credentialsText(c: IssuedCredentials, verb: string): string {
  return [
    `${verb} "${c.account.name}".`,
    '',
    renderFields([
      ['Username', c.username],
      ['Password', c.password],
    ]),
    '',
    'Store the password in your secrets manager now: it is shown only this once and cannot be shown again',
    '(rotate the account to get a new one).',
  ].join('\n');
}

const list: CliCommand = {
  path: ['accounts', 'list'],
  summary: 'List the SMTP accounts of the workspace',
  options: { idle: { type: 'string' }, sort: { type: 'string' } },
  optionHelp: ['--idle DAYS      only accounts with no send for DAYS days or more', '--sort KEY       name (default), created or last-used'],
  async run(cli, _pos, opts) {
    const sort = opts.sort as string | undefined;
    if (sort && !['name', 'created', 'last-used'].includes(sort)) throw new UsageError('--sort takes name, created or last-used');
    const ws = await cli.workspace();
    const idleDays = intOption(opts, 'idle');
    const views = await listAccounts(await cli.domain(), cli.actor, ws.id, {
      idleDays,
      sort: sort as 'name' | 'created' | 'last-used' | undefined,
    });
    if (cli.json) return views.map(accountRow);
    if (views.length === 0) {
      cli.print(idleDays !== undefined ? `No account has been idle for ${idleDays} days or more.` : 'No accounts yet. Create one with: smtpdesk accounts create NAME');
      return;
    }
    const now = new Date();
    cli.print(
      renderTable(views, [
        { header: 'NAME', value: (a) => a.name },
        { header: 'USERNAME', value: (a) => a.username },
        { header: 'STATUS', value: (a) => formatStatus(a.status) },
        { header: 'TOTAL SENT', value: (a) => formatCount(a.counters.sent), align: 'right' },
        { header: 'THIS MONTH', value: (a) => formatCount(a.sentThisMonth), align: 'right' },
        { header: 'DELIVERY', value: (a) => formatRate(a.deliveryRate), align: 'right' },
        { header: 'LAST USED', value: (a) => formatAgo(a.lastUsedAt, now) },
        { header: 'ACTIVITY', value: (a) => a.activity },
        { header: 'CREATED', value: (a) => formatDate(a.createdAt) },
      ]),
    );
    cli.print(`\n${views.length} account(s) in ${ws.name}.`);
  },
};

const show: CliCommand = {
  path: ['accounts', 'show'],
  summary: 'Show one account with its statistics',
  args: 'NAME',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const ctx = await cli.domain();
    const a = await showAccount(ctx, cli.actor, ws.id, requireArg(pos, 0, 'NAME'));
    const daily = (await dailyStatsOf(ctx, [a.id], 30)).get(a.id)!;
    const rates = (await readAccountRates(cli, [a.id])).get(a.id)!;
    if (cli.json)
      return { ...accountRow(a), ...ratesJson(rates), queuedMessages: a.queuedMessages, last30Days: { sent: daily.days.map((d) => d.sent), trend: daily.trend, ...rates } };
    const fields: [string, string][] = [
      ['Name', a.name],
      ['Username', a.username],
      ['Status', formatStatus(a.status)],
    ];
    if (a.disabled) {
      fields.push(['Disabled', `${formatDateTime(a.disabled.at)} by ${a.disabled.by}: ${humanReason(a.disabled.reason)}${a.disabled.note ? ` (${a.disabled.note})` : ''}`]);
    }
    fields.push(
      ['Total sent', formatCount(a.counters.sent)],
      ['Sent this month', formatCount(a.sentThisMonth)],
      ['Delivered', formatCount(a.counters.delivered)],
      ['Bounced', formatCount(a.counters.bounced)],
      ['Deferred', formatCount(a.counters.deferred)],
      ['Failed', formatCount(a.counters.failed)],
      ['Delivery rate', formatRate(a.deliveryRate)],
      ...rateFields(rates),
      ['Queued messages', formatCount(a.queuedMessages)],
      ['Last used', a.lastUsedAt ? `${formatDateTime(a.lastUsedAt)} (${formatAgo(a.lastUsedAt)})` : 'never'],
      ['Activity', a.activity],
      ['Last 30 days', `${sparkline(daily.days.map((d) => d.sent))}  ${formatCount(daily.totals.sent)} sent (smtpdesk accounts stats ${a.name})`],
      ['Delivery trend', formatTrend(daily.trend)],
      ['Created', `${formatDateTime(a.createdAt)} by ${a.createdBy}`],
      ...limitFields(a),
    );
    cli.print(renderFields(fields));
  },
};

const create: CliCommand = {
  path: ['accounts', 'create'],
  summary: 'Create an account; prints its username and password once',
  args: 'NAME',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const issued = await createAccount(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'NAME'));
    if (cli.json) return { name: issued.account.name, username: issued.username, password: issued.password, id: issued.account.id };
    cli.print(credentialsText(issued, 'Created'));
  },
};

const rotate: CliCommand = {
  path: ['accounts', 'rotate'],
  summary: 'Replace the password of an account; the old one stops at once unless --keep-old',
  args: 'NAME',
  options: { 'keep-old': { type: 'string' } },
  optionHelp: ['--keep-old D     keep the old password valid for D (e.g. 1h, 24h, 7d; at most 7d) while the application switches'],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    let keepOldMs: number | undefined;
    if (typeof opts['keep-old'] === 'string') {
      try {
        keepOldMs = parseDuration(opts['keep-old']);
      } catch {
        throw new UsageError(`--keep-old takes a duration such as 1h, 24h or 7d, got "${opts['keep-old']}"`);
      }
    }
    const issued = await rotateAccountPassword(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'NAME'), undefined, { keepOldMs });
    const until = issued.account.previousPassword?.validUntil;
    if (cli.json) return { name: issued.account.name, username: issued.username, password: issued.password, oldPasswordValidUntil: until?.toISOString() ?? null };
    cli.print(credentialsText(issued, 'Rotated the password of'));
    cli.print(until ? `\nThe old password keeps working until ${formatDateTime(until)}.` : '\nThe old password no longer works.');
  },
};

const set: CliCommand = {
  path: ['accounts', 'set'],
  summary: 'Set the sending limits of an account: allowed senders, rate limit, allowed networks',
  args: 'NAME',
  options: { 'allowed-senders': { type: 'string' }, 'rate-limit': { type: 'string' }, 'allowed-ips': { type: 'string' } },
  optionHelp: [
    '--allowed-ips LIST      AUTH only from these networks: "203.0.113.0/24, 2001:db8::/32" (addresses or CIDR); "" clears',
    '--allowed-senders LIST  comma-separated: noreply@acme.test (that address), acme.test or *@acme.test (any mailbox',
    '                        of exactly that domain), *.acme.test (its subdomains); "" clears (any sender)',
    '--rate-limit R          recipients per minute, hour or day: 5/m, 100/h, 20000/d; none clears',
  ],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    const name = requireArg(pos, 0, 'NAME');
    const senders = opts['allowed-senders'];
    const rate = opts['rate-limit'];
    const networks = opts['allowed-ips'];
    if (senders === undefined && rate === undefined && networks === undefined) throw new UsageError('give --allowed-senders, --rate-limit, --allowed-ips, or several');
    const a = await setSendingPolicy(await cli.domain(), cli.actor, ws.id, name, {
      allowedSenders: typeof senders === 'string' ? parseAllowedSenders(senders) : undefined,
      rateLimit: typeof rate === 'string' ? parseRateLimit(rate) : undefined,
      allowedNetworks: typeof networks === 'string' ? parseAllowedNetworks(networks) : undefined,
    });
    if (cli.json) return { name: a.name, ...limitsRow(a) };
    cli.print(`Updated "${a.name}".\n\n${renderFields(limitFields(a))}`);
  },
};

const disable: CliCommand = {
  path: ['accounts', 'disable'],
  summary: 'Disable an account (AUTH refused from the next attempt)',
  args: 'NAME',
  options: { reason: { type: 'string' }, note: { type: 'string' } },
  optionHelp: ['--reason R       maintenance, suspected_compromise, decommissioning or other (required)', '--note TEXT      free text kept with the reason'],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    if (typeof opts.reason !== 'string') throw new UsageError('--reason is required: maintenance, suspected_compromise, decommissioning or other');
    const a = await disableAccount(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'NAME'), opts.reason, opts.note as string | undefined);
    if (cli.json) return { name: a.name, status: a.status, disabled: a.disabled };
    cli.print(`Disabled "${a.name}" (${humanReason(a.disabled!.reason)}). Its credentials are kept; enable it to restore them.`);
  },
};

const enable: CliCommand = {
  path: ['accounts', 'enable'],
  summary: 'Enable a disabled account with its same credentials and statistics',
  args: 'NAME',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const a = await enableAccount(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'NAME'));
    if (cli.json) return { name: a.name, status: a.status };
    cli.print(`Enabled "${a.name}". Its username and password work again.`);
  },
};

const del: CliCommand = {
  path: ['accounts', 'delete'],
  summary: 'Delete an account for good (its username is never reused)',
  args: 'NAME',
  options: { confirm: { type: 'string' }, force: { type: 'boolean' } },
  optionHelp: ['--confirm NAME   the exact account name, to confirm (without it: shows what would be deleted)', '--force          delete even while messages are queued for it'],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    const ctx = await cli.domain();
    const name = requireArg(pos, 0, 'NAME');
    if (typeof opts.confirm !== 'string') {
      const p = await previewAccountDeletion(ctx, cli.actor, ws.id, name);
      const text = [
        `About to delete "${p.account.name}" (${p.account.username}).`,
        `Last used: ${p.account.lastUsedAt ? formatAgo(p.account.lastUsedAt) : 'never'}; total sent ${formatCount(p.account.counters.sent)}; ${p.queuedMessages} queued message(s).`,
        ...p.warnings.map((w) => `Warning: ${w}`),
        `To delete, run again with --confirm "${p.account.name}".`,
      ].join('\n');
      throw new UsageError(text);
    }
    const a = await deleteAccount(ctx, cli.actor, ws.id, name, { confirmName: opts.confirm, force: opts.force === true });
    if (cli.json) return { name: a.name, username: a.username, deleted: true };
    cli.print(`Deleted "${a.name}". Its username ${a.username} will never be issued again; emails it sent this month still count.`);
  },
};

const stats: CliCommand = {
  path: ['accounts', 'stats'],
  summary: 'Daily statistics of an account (UTC days): sent, delivered, bounced, deferred, failed, and a sparkline',
  args: 'NAME',
  options: { days: { type: 'string' } },
  optionHelp: [`--days N   how many days, ending today (default 30, at most ${STATS_MAX_DAYS})`],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    const days = intOption(opts, 'days') ?? 30;
    const s = await accountDailyStats(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'NAME'), days);
    if (cli.json) return { name: s.account.name, days: s.days, totals: s.totals, trend: s.trend };
    cli.print(`${s.account.name}, last ${days} day(s): sent ${sparkline(s.days.map((d) => d.sent))}  delivery rate ${formatTrend(s.trend)}\n`);
    cli.print(
      renderTable(
        [...s.days, { day: 'TOTAL', ...s.totals }],
        [
          { header: 'DAY', value: (d) => d.day },
          { header: 'SENT', value: (d) => formatCount(d.sent), align: 'right' },
          { header: 'DELIVERED', value: (d) => formatCount(d.delivered), align: 'right' },
          { header: 'BOUNCED', value: (d) => formatCount(d.bounced), align: 'right' },
          { header: 'DEFERRED', value: (d) => formatCount(d.deferred), align: 'right' },
          { header: 'FAILED', value: (d) => formatCount(d.failed), align: 'right' },
        ],
      ),
    );
  },
};

export const accountCommands: CliCommand[] = [list, show, create, rotate, set, disable, enable, del, stats, ...accountCredentialCommands];
