// smtpdesk suppressions …: the workspace's suppression list (hard-bounced addresses the relay refuses).
import { addSuppression, listSuppressions, removeSuppression, type Suppression } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { intOption, requireArg, type CliCommand } from '../command.ts';
import { renderTable } from '../table.ts';

const json = (s: Suppression) => ({ address: s.address, at: s.at.toISOString(), source: s.source, reason: s.reason, by: s.by ?? null });

const list: CliCommand = {
  path: ['suppressions', 'list'],
  summary: 'The addresses the relay refuses because they hard-bounced (or were added by hand), newest first',
  options: { limit: { type: 'string' } },
  optionHelp: ['--limit N   how many entries (default 100)'],
  async run(cli, _pos, opts) {
    const ws = await cli.workspace();
    const entries = await listSuppressions(await cli.domain(), cli.actor, ws.id, { limit: intOption(opts, 'limit') });
    if (cli.json) return entries.map(json);
    if (!entries.length) return cli.print('The suppression list is empty.');
    cli.print(
      renderTable(entries, [
        { header: 'ADDRESS', value: (s) => s.address },
        { header: 'SINCE', value: (s) => formatDateTime(s.at) },
        { header: 'SOURCE', value: (s) => (s.source === 'bounce' ? 'hard bounce' : s.source === 'complaint' ? 'spam complaint' : `added by ${s.by ?? '?'}`) },
        { header: 'ANSWER', value: (s) => s.reason || '—' },
      ]),
    );
  },
};

const add: CliCommand = {
  path: ['suppressions', 'add'],
  summary: 'Put an address on the suppression list (the relay refuses it at RCPT TO)',
  args: 'ADDRESS',
  options: { note: { type: 'string' } },
  optionHelp: ['--note TEXT   why (kept with the entry and in the audit log)'],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    const s = await addSuppression(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'ADDRESS'), opts.note as string | undefined);
    if (cli.json) return json(s);
    cli.print(`<${s.address}> is on the suppression list: relays refuse it within a few seconds.`);
  },
};

const remove: CliCommand = {
  path: ['suppressions', 'remove'],
  summary: 'Take an address off the suppression list so mail to it is accepted again',
  args: 'ADDRESS',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const s = await removeSuppression(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'ADDRESS'));
    if (cli.json) return { ...json(s), removed: true };
    cli.print(`<${s.address}> is off the suppression list (it was there since ${formatDateTime(s.at)}): relays accept it again within a few seconds.`);
  },
};

export const suppressionCommands: CliCommand[] = [list, add, remove];
