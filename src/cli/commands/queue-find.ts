// `smtpdesk queue find <recipient | Message-ID | queue id> [--since 7d] [--json]`: "did my email to X go
// out?". The messages kept in the queue (within retention) that match, newest first, and for each recipient
// its account, status, attempts, the next hop's last answer, times and any later bounce or complaint.
import { parseSince, traceMail, type TracedMessage, type TracedRecipient } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { intOption, requireArg, UsageError, type CliCommand } from '../command.ts';
import { renderTable } from '../table.ts';

interface Row {
  message: TracedMessage;
  r: TracedRecipient;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function laterText(later: Record<string, unknown> | undefined): string {
  if (!later) return '';
  return Object.entries(later)
    .map(([k, v]) => `${k}=${v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

const find: CliCommand = {
  path: ['queue', 'find'],
  summary: 'Did my email go out? Messages by recipient, Message-ID or queue id, newest first, each recipient’s outcome',
  args: 'RECIPIENT|MESSAGE-ID|QUEUE-ID',
  options: { since: { type: 'string' }, limit: { type: 'string' } },
  optionHelp: ['--since D        only messages accepted in the last D (30m, 12h, 7d, 2w)', '--limit N        at most N messages (default 20)'],
  async run(cli, pos, opts) {
    const query = requireArg(pos, 0, 'RECIPIENT|MESSAGE-ID|QUEUE-ID');
    let sinceMs: number | undefined;
    if (opts.since !== undefined) {
      const ms = typeof opts.since === 'string' ? parseSince(opts.since) : null;
      if (ms === null) throw new UsageError('--since takes a duration such as 30m, 12h, 7d or 2w');
      sinceMs = ms;
    }
    const ws = await cli.workspace();
    const result = await traceMail(await cli.domain(), cli.actor, ws.id, query, { sinceMs, limit: intOption(opts, 'limit') });
    if (cli.json) return result;
    if (result.messages.length === 0) {
      cli.print(`No message with ${result.kind} ${result.value} in the queue of "${ws.name}"${sinceMs ? ` since ${opts.since as string}` : ''}.`);
      return;
    }
    const rows: Row[] = result.messages.flatMap((message) => message.recipients.map((r) => ({ message, r })));
    cli.print(
      renderTable(rows, [
        { header: 'ACCEPTED', value: ({ message }) => formatDateTime(message.createdAt) },
        { header: 'QUEUE ID', value: ({ message }) => message.id },
        { header: 'ACCOUNT', value: ({ message }) => message.accountName ?? `${message.username} (deleted)` },
        { header: 'RECIPIENT', value: ({ r }) => r.address },
        { header: 'STATUS', value: ({ r }) => r.status },
        { header: 'ATTEMPTS', value: ({ r }) => String(r.attempts), align: 'right' },
        { header: 'LAST TRY', value: ({ r }) => (r.lastAttemptAt ? formatDateTime(r.lastAttemptAt) : '—') },
        { header: 'FINISHED', value: ({ r }) => (r.finishedAt ? formatDateTime(r.finishedAt) : '—') },
        { header: 'NEXT HOP SAID', value: ({ r }) => clip((r.status === 'delivered' ? r.response : (r.lastError ?? r.response)) ?? '', 70) },
        { header: 'LATER', value: ({ r }) => clip(laterText(r.later), 60) },
      ]),
    );
    cli.print(`\n${result.messages.length} message(s), newest first.`);
  },
};

export const queueFindCommands: CliCommand[] = [find];
