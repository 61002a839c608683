// Every 5 minutes (JOB_SURGE_SCHEDULE): accounts whose last hour is unlike their own history (volume, a new
// client network, refusals), posted once per episode with *Disable now* and *Expected*; a workspace with
// auto-disable on surge has the account disabled at once. Also prunes the containment collections (hourly
// history past SURGE_HISTORY_DAYS, ended rate windows and lockouts): no TTL indexes on FerretDB.
import { findSurgeFlags, HOUR_MS, jobActor, raiseSurgeFlags, type JobAlert, type SurgeFinding } from '../domain/index.ts';
import { formatCount } from '../shared/format.ts';
import { deliverAlert } from './deliver-alert.ts';
import type { Job, JobDeps, JobReport } from './job.ts';
import type { JobName } from '../shared/job-names.ts';

export const SURGE_JOB: JobName = 'surge';

async function handle(deps: JobDeps, finding: SurgeFinding, dryRun: boolean): Promise<{ action: string; disabled: string[] }> {
  if (dryRun) return { action: finding.raised.length ? 'would alert' : finding.changed ? 'would update' : 'unchanged', disabled: [] };
  const { stored, disabled } = await raiseSurgeFlags({ ctx: deps.ctx, flags: deps.flags }, finding, jobActor(SURGE_JOB));
  if (!stored) {
    // Nothing new, but an alert that could not go out before (no channel yet, no Slack here, a failed post) is
    // still pending: it goes out now, with what is surging now.
    const previous = finding.previous;
    if (!finding.changed && previous?.alert.pending && finding.surging.length) {
      const alert: JobAlert = { kind: 'surge', finding: { workspace: finding.workspace, raised: finding.surging }, snoozeHours: deps.config.surge.snoozeHours, disabled: [] };
      return { action: await deliverAlert(deps, 'surge', finding.workspace, previous, alert), disabled };
    }
    return { action: finding.changed ? 'taken by another run' : 'unchanged', disabled };
  }
  if (finding.surging.length === 0) {
    deps.log.info({ code: 'JOB_FLAG_CLEARED', workspace: finding.workspace.name, kind: 'surge' }, `surge flags of ${finding.workspace.name} cleared`);
    return { action: 'cleared', disabled };
  }
  if (!finding.next.alert.pending || finding.raised.length === 0) return { action: 'updated', disabled };
  for (const name of disabled) deps.log.warn({ code: 'JOB_SURGE_DISABLED', workspace: finding.workspace.name, account: name }, `surge: ${name} disabled automatically`);
  const alert: JobAlert = { kind: 'surge', finding, snoozeHours: deps.config.surge.snoozeHours, disabled };
  return { action: await deliverAlert(deps, 'surge', finding.workspace, finding.next, alert), disabled };
}

export const surgeJob: Job = {
  name: SURGE_JOB,
  description: 'accounts sending unlike their own history (volume, new network, refusals), posted with Disable now / Expected',
  schedule: (c) => c.surgeSchedule,
  async run(deps, opts): Promise<JobReport> {
    const dryRun = opts.dryRun === true;
    const now = deps.clock();
    const t = deps.config.surge;
    const findings = await findSurgeFlags({ ctx: deps.ctx, flags: deps.flags, accountHours: deps.ctx.accountHours }, { thresholds: t, now, workspaceId: opts.workspaceId });
    const outcomes: { finding: SurgeFinding; action: string; disabled: string[] }[] = [];
    for (const finding of findings) {
      try {
        outcomes.push({ finding, ...(await handle(deps, finding, dryRun)) });
      } catch (err) {
        deps.log.error({ err, code: 'JOB_WORKSPACE_FAILED', workspace: finding.workspace.name }, `surge: ${finding.workspace.name} failed`);
        outcomes.push({ finding, action: `error: ${err instanceof Error ? err.message : String(err)}`, disabled: [] });
      }
    }
    let pruned = 0;
    if (!dryRun) {
      const history = new Date(now.getTime() - (t.historyDays * 24 + 2) * HOUR_MS);
      pruned += await deps.ctx.accountHours.prune(history);
      pruned += await deps.ctx.rateWindows.prune(now);
      pruned += await deps.lockouts.prune(now);
    }
    const rows = outcomes.flatMap(({ finding, action, disabled }) => {
      const raised = new Set(finding.raised.flatMap((s) => s.observations.map((o) => `${s.account.id}:${o.signal}`)));
      return finding.surging.flatMap((s) =>
        s.observations.map((o) => ({
          workspace: finding.workspace.name,
          account: s.account.name,
          signal: o.signal,
          lastHour: o.lastHour,
          usual: o.usual,
          seen: o.text,
          flag: raised.has(`${s.account.id}:${o.signal}`) ? 'new' : 'flagged',
          action: disabled.includes(s.account.name) ? `${action}; disabled` : action,
        })),
      );
    });
    const newCount = findings.reduce((n, f) => n + f.raised.length, 0);
    const posted = outcomes.filter((o) => o.action === 'posted').length;
    const summary =
      (rows.length === 0
        ? 'no surge'
        : `${formatCount(rows.length)} surge signal(s) on ${formatCount(new Set(rows.map((r) => `${r.workspace}/${r.account}`)).size)} account(s), ${formatCount(newCount)} account(s) with a new one`) +
      (dryRun ? '; dry run, nothing posted, stored or disabled' : `; ${posted} alert(s) posted; ${formatCount(pruned)} old counter document(s) pruned`);
    return {
      job: SURGE_JOB,
      dryRun,
      summary,
      columns: [
        { key: 'workspace', header: 'WORKSPACE' },
        { key: 'account', header: 'ACCOUNT' },
        { key: 'signal', header: 'SIGNAL' },
        { key: 'lastHour', header: 'LAST HOUR', align: 'right' },
        { key: 'usual', header: 'USUAL', align: 'right' },
        { key: 'flag', header: 'FLAG' },
        { key: 'action', header: 'ALERT' },
        { key: 'seen', header: 'SEEN' },
      ],
      rows,
      details: { at: now.toISOString(), thresholds: t, signals: rows },
    };
  },
};
