// smtpdesk bounces list: reports that came to a return path but named no message we could find (kept, never
// dropped; src/domain/later-outcomes.ts).
import { listUnmatchedReports, type UnmatchedReport } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { laterOutcomeRepository } from '../../store/later-outcomes.ts';
import { intOption, type CliCommand } from '../command.ts';
import { renderTable } from '../table.ts';

const json = (r: UnmatchedReport) => ({ ...r, at: r.at.toISOString() });

const list: CliCommand = {
  path: ['bounces', 'list'],
  summary: 'Bounce and complaint reports that matched no queued message, newest first (admins)',
  options: { limit: { type: 'string' } },
  optionHelp: ['--limit N   how many reports (default 50)'],
  async run(cli, _pos, opts) {
    const rt = await cli.runtime();
    const { total, reports } = await listUnmatchedReports(laterOutcomeRepository(rt.db.models, rt), cli.actor, intOption(opts, 'limit') ?? 50);
    if (cli.json) return { total, reports: reports.map(json) };
    if (!reports.length) return cli.print('No unmatched reports: every bounce and complaint that arrived was matched to its message.');
    cli.print(
      renderTable(reports, [
        { header: 'RECEIVED', value: (r) => formatDateTime(r.at) },
        { header: 'TYPE', value: (r) => r.type },
        { header: 'TO', value: (r) => r.rcptTo },
        { header: 'FROM IP', value: (r) => r.clientIp ?? '—' },
        { header: 'MESSAGE-ID', value: (r) => r.originalMessageId ?? '—' },
        { header: 'NAMES', value: (r) => r.recipients.slice(0, 3).join(', ') || '—' },
        { header: 'WHY UNMATCHED', value: (r) => r.reason },
      ]),
    );
    cli.print(`\n${reports.length} of ${total} unmatched report(s), newest first.`);
  },
};

export const bounceCommands: CliCommand[] = [list];
