// `smtpdesk queue`: what is waiting in the outbound queue, and the two things an admin can do about it.
import { listQueue, purgeQueuedMail, retryQueuedMail, showQueuedMessage, type QueueChange, type QueuedMessageView, type QueuedRecipient } from '../../domain/index.ts';
import { formatCount, formatDateTime } from '../../shared/format.ts';
import { intOption, requireArg, UsageError, type CliCommand, type OptionValues } from '../command.ts';
import { renderFields, renderTable } from '../table.ts';
import { laterText, readLaterOutcomes } from './later-outcomes.ts';

/** "3m", "2h 5m", "4d 1h". */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, unit] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

export function nextAttemptText(m: QueuedMessageView, now: Date): string {
  if (m.state === 'done') return '—';
  if (m.leaseUntil && m.leaseUntil.getTime() > now.getTime()) return 'sending now';
  const wait = m.nextAttemptAt.getTime() - now.getTime();
  return wait <= 0 ? 'due now' : `in ${shortDuration(wait)}`;
}

function recipientsText(rs: QueuedRecipient[]): string {
  const shown = rs.slice(0, 3).map((r) => `${r.address} (${r.status})`);
  return rs.length > 3 ? `${shown.join(', ')} +${rs.length - 3} more` : shown.join(', ');
}

/** The newest error of a recipient still waiting or lost; a recipient delivered after a retry has none left. */
function lastError(m: QueuedMessageView): string | undefined {
  const withError = m.recipients.filter((r) => r.lastError && r.status !== 'delivered').sort((a, b) => (b.lastAttemptAt?.getTime() ?? 0) - (a.lastAttemptAt?.getTime() ?? 0));
  return withError[0]?.lastError;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const sender = (from: string) => (from === '' ? '<>' : from);

function stateOption(opts: OptionValues): 'queued' | 'done' | undefined {
  const state = opts.state;
  if (state === undefined) return undefined;
  if (state !== 'queued' && state !== 'done') throw new UsageError('--state takes queued or done');
  return state;
}

function accountOption(opts: OptionValues, required: boolean): string | undefined {
  const name = opts.account;
  if (name === undefined && required) throw new UsageError('--account NAME is required');
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) throw new UsageError('--account takes an account name');
  return name;
}

const list: CliCommand = {
  path: ['queue', 'list'],
  summary: 'Messages in the outbound queue, newest first, with each recipient’s status',
  options: { account: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' } },
  optionHelp: ['--account NAME    only this account’s messages', '--state S         queued or done (default: both)', '--limit N         at most N messages (default 50)'],
  async run(cli, _pos, opts) {
    const ws = await cli.workspace();
    const messages = await listQueue(await cli.domain(), cli.actor, ws.id, {
      accountName: accountOption(opts, false),
      state: stateOption(opts),
      limit: intOption(opts, 'limit'),
    });
    if (cli.json) return messages;
    if (messages.length === 0) {
      cli.print(opts.account ? `No ${String(opts.state ?? '')} messages for "${String(opts.account)}" in the queue.`.replace('  ', ' ') : 'The queue is empty.');
      return;
    }
    const now = new Date();
    cli.print(
      renderTable(messages, [
        { header: 'QUEUE ID', value: (m) => m.id },
        { header: 'ACCOUNT', value: (m) => (m.kind === 'bounce' ? `${m.accountName ?? m.username} (bounce)` : (m.accountName ?? `${m.username} (deleted)`)) },
        { header: 'FROM', value: (m) => clip(sender(m.from), 40) },
        { header: 'RECIPIENTS', value: (m) => clip(recipientsText(m.recipients), 70) },
        { header: 'ATTEMPTS', value: (m) => String(Math.max(0, ...m.recipients.map((r) => r.attempts))), align: 'right' },
        { header: 'NEXT ATTEMPT', value: (m) => nextAttemptText(m, now) },
        { header: 'LAST ERROR', value: (m) => clip(lastError(m) ?? '', 60) },
        { header: 'AGE', value: (m) => shortDuration(now.getTime() - m.createdAt.getTime()), align: 'right' },
      ]),
    );
    cli.print(`\n${messages.length} message(s), newest first.`);
  },
};

const show: CliCommand = {
  path: ['queue', 'show'],
  summary: 'One queued message: envelope, each recipient’s attempts, last error and next attempt',
  args: 'ID',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const m = await showQueuedMessage(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'ID'));
    const later = await readLaterOutcomes(cli, m.id);
    if (cli.json) return { ...m, recipients: m.recipients.map((r, i) => (later.has(i) ? { ...r, later: later.get(i) } : r)) };
    const now = new Date();
    const fields: [string, string][] = [
      ['Queue ID', m.id],
      ['Account', `${m.accountName ?? '(deleted)'} (${m.username})${m.kind === 'bounce' ? ', bounce notice' : ''}`],
      ['State', m.state === 'done' ? `done ${m.finishedAt ? formatDateTime(m.finishedAt) : ''}`.trim() : 'queued'],
      ['From', sender(m.from)],
      ['Message-ID', m.messageId ?? '—'],
      ['Subject', m.subject ?? '—'],
      ['Size', `${formatCount(m.size)} bytes${m.bodyRemovedAt ? ` (body removed ${formatDateTime(m.bodyRemovedAt)})` : ''}`],
      ['Accepted', `${formatDateTime(m.createdAt)} (${shortDuration(now.getTime() - m.createdAt.getTime())} ago)`],
      ['Next attempt', nextAttemptText(m, now)],
    ];
    if (m.leaseOwner && m.leaseUntil && m.leaseUntil.getTime() > now.getTime()) fields.push(['Worker', `${m.leaseOwner} until ${formatDateTime(m.leaseUntil)}`]);
    cli.print(renderFields(fields));
    cli.print('');
    cli.print(
      renderTable(m.recipients, [
        { header: 'RECIPIENT', value: (r) => r.address },
        { header: 'STATUS', value: (r) => r.status },
        { header: 'ATTEMPTS', value: (r) => String(r.attempts), align: 'right' },
        {
          header: 'NEXT ATTEMPT',
          value: (r) => (r.status !== 'queued' ? '—' : r.nextAttemptAt && r.nextAttemptAt > now ? `in ${shortDuration(r.nextAttemptAt.getTime() - now.getTime())}` : 'due now'),
        },
        { header: 'LAST ERROR / ANSWER', value: (r) => (r.status === 'delivered' ? (r.response ?? '') : (r.lastError ?? r.response ?? '')) },
        ...(later.size ? [{ header: 'LATER', value: (r: QueuedRecipient) => laterText(later.get(m.recipients.indexOf(r))) }] : []),
      ]),
    );
  },
};

function changeText(c: QueueChange): string {
  return c.inFlight ? ` ${c.inFlight} message(s) being delivered right now were left alone.` : '';
}

const retry: CliCommand = {
  path: ['queue', 'retry'],
  summary: 'Make an account’s deferred mail due now (the workers try it at their next poll)',
  options: { account: { type: 'string' } },
  optionHelp: ['--account NAME    the account (required)'],
  async run(cli, _pos, opts) {
    const ws = await cli.workspace();
    const name = accountOption(opts, true)!;
    const change = await retryQueuedMail(await cli.domain(), cli.actor, ws.id, name);
    if (cli.json) return change;
    cli.print(
      change.recipients + change.noticeRecipients === 0
        ? `Nothing of "${name}" was waiting for a retry.${changeText(change)}`
        : `${change.recipients + change.noticeRecipients} deferred recipient(s) in ${change.messages} message(s) of "${name}" are due now.${changeText(change)}`,
    );
  },
};

const purge: CliCommand = {
  path: ['queue', 'purge'],
  summary: 'Give up on an account’s queued mail: its recipients fail (counted as failed, no bounce sent)',
  options: { account: { type: 'string' }, confirm: { type: 'string' } },
  optionHelp: ['--account NAME    the account (required)', '--confirm NAME    the exact account name, to confirm'],
  async run(cli, _pos, opts) {
    const ws = await cli.workspace();
    const name = accountOption(opts, true)!;
    if (typeof opts.confirm !== 'string') throw new UsageError(`--confirm is required: repeat the account's exact name to purge its queued mail`);
    const change = await purgeQueuedMail(await cli.domain(), cli.actor, ws.id, name, { confirmName: opts.confirm });
    if (cli.json) return change;
    cli.print(
      change.messages === 0
        ? `"${name}" had no queued mail to purge.${changeText(change)}`
        : `Purged ${change.messages} message(s) of "${name}": ${change.recipients + change.noticeRecipients} recipient(s) marked failed.${changeText(change)}`,
    );
  },
};

export const queueCommands: CliCommand[] = [list, show, retry, purge];
