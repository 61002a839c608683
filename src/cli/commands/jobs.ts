// `smtpdesk jobs list` and `smtpdesk jobs run NAME [--dry-run]`: the scheduled jobs, on demand, through the
// JobsConsole port. The jobs (and Slack's client, node-cron) load only when a jobs command runs.
import { JOB_NAMES } from '../../shared/job-names.ts';
import { formatDateTime } from '../../shared/format.ts';
import { UsageError, requireArg, type CliCommand } from '../command.ts';
import { renderTable } from '../table.ts';

async function nextRunOf(expression: string, timezone: string): Promise<Date | null> {
  const cron = (await import('node-cron')).default;
  const task = cron.createTask(expression, () => undefined, { timezone });
  try {
    return task.getNextRuns(1)[0] ?? null;
  } finally {
    await task.destroy();
  }
}

const list: CliCommand = {
  path: ['jobs', 'list'],
  summary: 'The scheduled jobs: schedule, next run, last run and its outcome',
  async run(cli) {
    const rt = await cli.runtime();
    const jobs = await (await cli.jobs()).list();
    const tz = rt.config.jobs.timezone;
    const rows = await Promise.all(jobs.map(async (job) => ({ job, schedule: job.schedule, next: await nextRunOf(job.schedule, tz), last: job.lastRun })));
    if (cli.json) {
      return rows.map((r) => ({
        name: r.job.name,
        description: r.job.description,
        schedule: r.schedule,
        timezone: tz,
        nextRun: r.next?.toISOString() ?? null,
        lastRun: r.last ? { ...r.last, startedAt: r.last.startedAt.toISOString(), finishedAt: r.last.finishedAt?.toISOString() ?? null } : null,
      }));
    }
    cli.print(
      renderTable(rows, [
        { header: 'JOB', value: (r) => r.job.name },
        { header: 'SCHEDULE', value: (r) => `${r.schedule} (${tz})` },
        { header: 'NEXT RUN', value: (r) => formatDateTime(r.next) },
        { header: 'LAST RUN', value: (r) => formatDateTime(r.last?.startedAt) },
        { header: 'RESULT', value: (r) => (r.last ? `${r.last.result}${r.last.trigger === 'manual' ? ' (manual)' : ''}` : '—') },
        { header: 'SUMMARY', value: (r) => r.last?.error ?? r.last?.summary ?? '' },
      ]),
    );
  },
};

const run: CliCommand = {
  path: ['jobs', 'run'],
  summary: 'Run a job now and print what it found (--dry-run: post nothing, change nothing)',
  args: 'NAME',
  options: { 'dry-run': { type: 'boolean' } },
  optionHelp: [
    `NAME        ${JOB_NAMES.join(', ')}`,
    '--dry-run   find and report only: no alert posted, no flag stored, no event published',
    '--workspace only this workspace (default: every workspace)',
  ],
  async run(cli, pos, opts) {
    const name = requireArg(pos, 0, 'NAME');
    if (!(JOB_NAMES as readonly string[]).includes(name.trim().toLowerCase())) {
      throw new UsageError(`no job named "${name}"; jobs: ${JOB_NAMES.join(', ')}`);
    }
    const jobs = await cli.jobs();
    const onlyOne = (opts.workspace as string | undefined) ?? process.env.SMTPDESK_WORKSPACE;
    const workspaceId = onlyOne ? (await cli.workspace()).id : undefined;
    const ran = await jobs.run(name, { dryRun: opts['dry-run'] === true, workspaceId });
    if (!ran) throw new UsageError(`the ${name} job is not in this build`);
    const { report } = ran;
    const job = { name: ran.name };
    if (cli.json) return { job: report.job, dryRun: report.dryRun, summary: report.summary, ...(report.details ? { details: report.details } : {}) };
    if (report.rows.length) {
      cli.print(
        renderTable(
          report.rows,
          report.columns.map((c) => ({ header: c.header, value: (r: Record<string, string | number>) => String(r[c.key] ?? ''), align: c.align })),
        ),
      );
      cli.print('');
    }
    cli.print(`${job.name}: ${report.summary}`);
  },
};

export const jobCommands: CliCommand[] = [list, run];
