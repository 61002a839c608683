// `smtpdesk accounts report-leak` (a leaked password read from standard input, never from the command line,
// where shell history would keep it) and `smtpdesk accounts report` (the credential report: table, --json,
// --csv). Both call the domain, like the webhook and Slack do.
import { credentialReport, describeAllowedNetworks, describeAllowedSenders, handleLeakReport, type CredentialReportRow, type LeakOutcome } from '../../domain/index.ts';
import { formatAgo, formatDate, formatStatus } from '../../shared/format.ts';
import { lockoutRepository } from '../../store/repositories/lockouts.ts';
import { UsageError, type CliCommand } from '../command.ts';
import { renderTable } from '../table.ts';

/** More than a few reports at once is a file, not a paste: refuse it rather than run bcrypt for minutes. */
const MAX_TOKENS = 100;
const MAX_STDIN_BYTES = 64 * 1024;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Paste the leaked password, then press Ctrl-D:\n');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError(`standard input is larger than ${MAX_STDIN_BYTES} bytes: give one password per line`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Enough of a token to tell which one a line is about, never enough to use it. */
export function maskToken(token: string): string {
  return token.length > 16 ? `${token.slice(0, 12)}…(${token.length} chars)` : '…';
}

type OutcomeRow = { token: string; label: string } & ({ workspace: string; account: string; username: string; policy: string; action: string } | { reason: string });

function outcomeRow(token: string, o: LeakOutcome): OutcomeRow {
  return o.label === 'true_positive'
    ? { token: maskToken(token), label: o.label, workspace: o.workspace.name, account: o.account.name, username: o.account.username, policy: o.policy, action: o.action }
    : { token: maskToken(token), label: o.label, reason: o.reason };
}

function outcomeText(r: OutcomeRow): string {
  return 'account' in r
    ? `${r.token}: LEAKED password of "${r.account}" (${r.username}) in ${r.workspace}: ${r.action.replace('_', ' ')} (policy: ${r.policy}). Rotate it before enabling the account again.`
    : `${r.token}: not a live smtpdesk password (${r.reason.replace('_', ' ')}); nothing changed.`;
}

const reportLeak: CliCommand = {
  path: ['accounts', 'report-leak'],
  summary: 'Report a leaked password (read from standard input): its account is disabled or rotated per the workspace policy',
  options: { url: { type: 'string' }, source: { type: 'string' } },
  optionHelp: [
    'The password is read from standard input (one per line), never from the command line: shell history keeps arguments.',
    '  e.g.  pbpaste | smtpdesk accounts report-leak --url https://github.com/acme/app/commit/abc --source commit',
    '--url URL        where it was found (shown in the alert and the audit)',
    '--source TEXT    what kind of place: commit, issue, paste, log…',
  ],
  async run(cli, pos, opts) {
    if (pos.length) throw new UsageError('pass the password on standard input, not as an argument (shell history would keep it)');
    const tokens = (await readStdin())
      .split(/\s+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (tokens.length === 0) throw new UsageError('no password on standard input');
    if (tokens.length > MAX_TOKENS) throw new UsageError(`at most ${MAX_TOKENS} passwords at once`);
    const ctx = await cli.domain();
    const rows = [];
    for (const token of tokens) {
      const outcome = await handleLeakReport(ctx, cli.actor, { token, url: opts.url as string | undefined, source: (opts.source as string | undefined) ?? 'smtpdesk CLI' });
      rows.push(outcomeRow(token, outcome));
    }
    if (cli.json) return rows;
    for (const r of rows) cli.print(outcomeText(r));
  },
};

function reportJson(r: CredentialReportRow) {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    name: r.name,
    username: r.username,
    status: r.status,
    createdAt: r.createdAt.toISOString(),
    passwordAgeDays: r.passwordAgeDays,
    passwordSetAt: r.passwordSetAt.toISOString(),
    lastRotatedAt: iso(r.lastRotatedAt),
    lastUsedAt: iso(r.lastUsedAt),
    lastClientAddress: r.lastClientAddress,
    lastAuthAt: iso(r.lastAuthAt),
    allowedSenders: r.allowedSenders,
    allowedNetworks: r.allowedNetworks,
    passwordLeakedAt: iso(r.passwordLeakedAt),
  };
}

const CSV_COLUMNS = [
  'name',
  'username',
  'status',
  'createdAt',
  'passwordAgeDays',
  'lastRotatedAt',
  'lastUsedAt',
  'lastClientAddress',
  'allowedSenders',
  'allowedNetworks',
  'passwordLeakedAt',
] as const;

/** RFC 4180, and no cell that a spreadsheet would run as a formula (=, +, -, @ first). */
export function csvCell(value: unknown): string {
  let s = Array.isArray(value) ? value.join(' ') : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function credentialReportCsv(rows: CredentialReportRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const j = reportJson(r) as Record<string, unknown>;
    lines.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

const report: CliCommand = {
  path: ['accounts', 'report'],
  summary: 'Credential report: password age, last rotated, last used, last client address, allowed senders and networks',
  options: { csv: { type: 'boolean' } },
  optionHelp: ['--csv            comma-separated values (RFC 4180) instead of a table; --json for JSON'],
  async run(cli, _pos, opts) {
    const ws = await cli.workspace();
    const rt = await cli.runtime();
    const lockouts = lockoutRepository(rt.db.models);
    const rows = await credentialReport(rt.ctx, cli.actor, ws.id, async (usernames) => {
      const found = await lockouts.lastSuccesses(usernames);
      return new Map([...found].map(([u, f]) => [u, { address: f.address, at: f.lastSuccessAt }]));
    });
    if (cli.json) return rows.map(reportJson);
    if (opts.csv === true) {
      process.stdout.write(credentialReportCsv(rows));
      return;
    }
    if (!rows.length) return cli.print(`No accounts in ${ws.name}.`);
    const now = new Date();
    cli.print(
      renderTable(rows, [
        { header: 'NAME', value: (r) => r.name },
        { header: 'STATUS', value: (r) => (r.passwordLeakedAt ? `${formatStatus(r.status)} (leaked)` : formatStatus(r.status)) },
        { header: 'CREATED', value: (r) => formatDate(r.createdAt) },
        { header: 'PASSWORD AGE', value: (r) => `${r.passwordAgeDays} d`, align: 'right' },
        { header: 'LAST ROTATED', value: (r) => (r.lastRotatedAt ? formatDate(r.lastRotatedAt) : 'never') },
        { header: 'LAST USED', value: (r) => formatAgo(r.lastUsedAt ?? undefined, now) },
        { header: 'LAST CLIENT', value: (r) => r.lastClientAddress ?? '—' },
        { header: 'SENDERS', value: (r) => describeAllowedSenders(r.allowedSenders) },
        { header: 'NETWORKS', value: (r) => describeAllowedNetworks(r.allowedNetworks) },
      ]),
    );
  },
};

export const accountCredentialCommands: CliCommand[] = [reportLeak, report];
