// Daily: accounts with no send for IDLE_AFTER_DAYS days or more, posted to each workspace's alert channel
// with Disable / Delete / Keep buttons. The rules are the domain's (findIdleAccountFlags); this posts.
import { findIdleAccountFlags, jobActor, raiseIdleFlags, type IdleFinding, type JobAlert } from '../domain/index.ts';
import { formatCount, formatDate } from '../shared/format.ts';
import { deliverAlert } from './deliver-alert.ts';
import type { Job, JobDeps, JobReport, JobRunOptions } from './job.ts';
import type { JobName } from '../shared/job-names.ts';

export const IDLE_ACCOUNTS_JOB: JobName = 'idle-accounts';

interface WorkspaceOutcome {
  finding: IdleFinding;
  /** What this run did about the workspace's flags. */
  action: string;
}

async function handle(deps: JobDeps, finding: IdleFinding, dryRun: boolean): Promise<string> {
  const flagDeps = { ctx: deps.ctx, flags: deps.flags };
  const state = finding.changed ? finding.next : finding.previous;
  const pending = state?.alert.pending ?? false;
  if (dryRun) {
    if (finding.alertDue) return 'would alert';
    if (pending) return 'would retry pending alert';
    return finding.accounts.length === 0 ? 'would clear' : finding.changed ? 'would update' : 'unchanged';
  }
  if (finding.changed && !(await raiseIdleFlags(flagDeps, finding, jobActor(IDLE_ACCOUNTS_JOB)))) {
    return 'taken by another run';
  }
  if (finding.accounts.length === 0) {
    deps.log.info({ code: 'JOB_FLAG_CLEARED', workspace: finding.workspace.name, kind: 'idle-accounts' }, `idle flags of ${finding.workspace.name} cleared`);
    return 'cleared';
  }
  if (!pending || !state) return finding.changed ? 'updated' : 'unchanged';
  // New: raised by this run, or flagged since the last alert that went out (when that one had to wait).
  const posted = new Set(state.alert.postedFlagged ?? []);
  const raised = new Set(finding.raised.map((a) => a.id));
  const fresh = finding.accounts.filter((a) => raised.has(a.id) || !posted.has(a.id));
  const alert: JobAlert = {
    kind: 'idle-accounts',
    finding: { ...finding, raised: fresh },
    now: deps.clock(),
    idleAfterDays: deps.config.idleAfterDays,
    snoozeDays: deps.config.idleSnoozeDays,
  };
  return deliverAlert(deps, 'idle-accounts', finding.workspace, state, alert);
}

export const idleAccountsJob: Job = {
  name: IDLE_ACCOUNTS_JOB,
  description: 'accounts with no send for IDLE_AFTER_DAYS days, posted with Disable / Delete / Keep buttons',
  schedule: (c) => c.idleAccountsSchedule,
  async run(deps, opts: JobRunOptions): Promise<JobReport> {
    const dryRun = opts.dryRun === true;
    const findings = await findIdleAccountFlags({ ctx: deps.ctx, flags: deps.flags }, { idleAfterDays: deps.config.idleAfterDays, workspaceId: opts.workspaceId });
    const outcomes: WorkspaceOutcome[] = [];
    for (const finding of findings) {
      try {
        outcomes.push({ finding, action: await handle(deps, finding, dryRun) });
      } catch (err) {
        // One workspace's failure must not hide the others' alerts.
        deps.log.error({ err, code: 'JOB_WORKSPACE_FAILED', workspace: finding.workspace.name }, `idle-accounts: ${finding.workspace.name} failed`);
        outcomes.push({ finding, action: `error: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    const now = deps.clock();
    const idleCount = findings.reduce((n, f) => n + f.accounts.length, 0);
    const newCount = findings.reduce((n, f) => n + f.raised.length, 0);
    const posted = outcomes.filter((o) => o.action === 'posted').length;
    const failed = outcomes.filter((o) => o.action.startsWith('error')).length;
    const rows = outcomes.flatMap(({ finding, action }): Record<string, string | number>[] => {
      const raised = new Set(finding.raised.map((a) => a.id));
      if (finding.accounts.length === 0) {
        return [{ workspace: finding.workspace.name, account: `(${finding.cleared.length} cleared)`, status: '', lastUsed: '', idleDays: '', totalSent: '', flag: '', action }];
      }
      return finding.accounts.map((a, i) => ({
        workspace: finding.workspace.name,
        account: a.name,
        status: a.status,
        lastUsed: a.lastUsedAt ? formatDate(a.lastUsedAt) : `never (created ${formatDate(a.createdAt)})`,
        idleDays: a.idleDays,
        totalSent: formatCount(a.counters.sent),
        flag: raised.has(a.id) ? 'new' : 'flagged',
        action: i === 0 ? action : '',
      }));
    });
    const summary =
      (idleCount === 0
        ? 'no idle accounts'
        : `${formatCount(idleCount)} idle account${idleCount === 1 ? '' : 's'} (${formatCount(newCount)} new) in ${formatCount(findings.filter((f) => f.accounts.length).length)} workspace(s)`) +
      (dryRun ? '; dry run, nothing posted or stored' : `; ${posted} alert(s) posted`) +
      (failed ? `; ${failed} workspace(s) failed` : '');
    if (failed) deps.log.warn({ code: 'JOB_PARTIAL_FAILURE', failed }, summary);
    return {
      job: IDLE_ACCOUNTS_JOB,
      dryRun,
      summary,
      columns: [
        { key: 'workspace', header: 'WORKSPACE' },
        { key: 'account', header: 'ACCOUNT' },
        { key: 'status', header: 'STATUS' },
        { key: 'lastUsed', header: 'LAST USED' },
        { key: 'idleDays', header: 'IDLE DAYS', align: 'right' },
        { key: 'totalSent', header: 'TOTAL SENT', align: 'right' },
        { key: 'flag', header: 'FLAG' },
        { key: 'action', header: 'ALERT' },
      ],
      rows,
      details: {
        at: now.toISOString(),
        idleAfterDays: deps.config.idleAfterDays,
        workspaces: outcomes.map(({ finding, action }) => ({
          workspace: finding.workspace.name,
          workspaceId: finding.workspace.id,
          action,
          idle: finding.accounts.map((a) => ({
            name: a.name,
            username: a.username,
            status: a.status,
            lastUsedAt: a.lastUsedAt?.toISOString() ?? null,
            createdAt: a.createdAt.toISOString(),
            idleDays: a.idleDays,
            totalSent: a.counters.sent,
            new: finding.raised.some((r) => r.id === a.id),
          })),
          cleared: finding.cleared.length,
        })),
      },
    };
  },
};
