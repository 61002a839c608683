// Every 15 minutes (JOB_REPUTATION_SCHEDULE): each account's bounce and complaint rates over the last 30 days,
// later bounces and complaints included, against its workspace's thresholds (SES's by default). An account
// that reaches the warn level is posted once per episode with *Pause now* and *Expected*; at the pause level it
// is disabled with reason `reputation` unless the workspace opted out (`workspace set --reputation-pause off`)
// or someone marked the episode Expected. Also publishes every account's rates as metrics.
import { accountRates, findReputationFlags, jobActor, percent, raiseReputationFlags, type JobAlert, type ReputationFinding } from '../domain/index.ts';
import { formatCount } from '../shared/format.ts';
import type { JobName } from '../shared/job-names.ts';
import { deliverAlert } from './deliver-alert.ts';
import type { Job, JobDeps, JobReport } from './job.ts';

export const REPUTATION_JOB: JobName = 'reputation';

async function handle(deps: JobDeps, finding: ReputationFinding, dryRun: boolean): Promise<{ action: string; paused: string[] }> {
  if (dryRun) return { action: finding.raised.length ? 'would alert' : finding.changed ? 'would update' : 'unchanged', paused: [] };
  const { stored, paused } = await raiseReputationFlags({ ctx: deps.ctx, flags: deps.flags }, finding, jobActor(REPUTATION_JOB));
  if (!stored) {
    // An alert that could not go out before (no channel, no Slack here, a failed post) goes out now.
    const previous = finding.previous;
    if (!finding.changed && previous?.alert.pending && finding.concerns.length) {
      const alert: JobAlert = { kind: 'reputation', finding: { workspace: finding.workspace, raised: finding.concerns, settings: finding.settings }, paused: [] };
      return { action: await deliverAlert(deps, 'reputation', finding.workspace, previous, alert), paused };
    }
    return { action: finding.changed ? 'taken by another run' : 'unchanged', paused };
  }
  if (finding.concerns.length === 0) {
    deps.log.info({ code: 'JOB_FLAG_CLEARED', workspace: finding.workspace.name, kind: 'reputation' }, `reputation flags of ${finding.workspace.name} cleared`);
    return { action: 'cleared', paused };
  }
  for (const name of paused) deps.log.warn({ code: 'JOB_REPUTATION_PAUSED', workspace: finding.workspace.name, account: name }, `reputation: ${name} paused`);
  if (!finding.next.alert.pending || finding.raised.length === 0) return { action: 'updated', paused };
  const alert: JobAlert = { kind: 'reputation', finding, paused };
  return { action: await deliverAlert(deps, 'reputation', finding.workspace, finding.next, alert), paused };
}

export const reputationJob: Job = {
  name: REPUTATION_JOB,
  description: 'bounce and complaint rates over 30 days against the workspace thresholds: warns (Pause now / Expected) and pauses',
  schedule: (c) => c.reputationSchedule,
  async run(deps, opts): Promise<JobReport> {
    const dryRun = opts.dryRun === true;
    const now = deps.clock();
    const findings = await findReputationFlags({ ctx: deps.ctx, flags: deps.flags, later: deps.later }, { now, workspaceId: opts.workspaceId });
    const rows: Record<string, string | number>[] = [];
    let posted = 0;
    for (const finding of findings) {
      let outcome: { action: string; paused: string[] };
      try {
        outcome = await handle(deps, finding, dryRun);
      } catch (err) {
        deps.log.error({ err, code: 'JOB_WORKSPACE_FAILED', workspace: finding.workspace.name }, `reputation: ${finding.workspace.name} failed`);
        outcome = { action: `error: ${err instanceof Error ? err.message : String(err)}`, paused: [] };
      }
      if (outcome.action === 'posted') posted++;
      const raised = new Set(finding.raised.map((c) => c.account.id));
      for (const c of finding.concerns) {
        rows.push({
          workspace: finding.workspace.name,
          account: c.account.name,
          level: c.level + (c.expected ? ' (expected)' : ''),
          outcomes: c.rates.delivered + c.rates.bounced + c.rates.failed,
          bounceRate: percent(c.rates.bounceRate),
          complaintRate: percent(c.rates.complaintRate),
          flag: raised.has(c.account.id) ? 'new' : 'flagged',
          action: outcome.paused.includes(c.account.name) ? `${outcome.action}; paused` : outcome.action,
        });
      }
    }
    if (!dryRun && deps.metrics) {
      // Every account's rates, so a dashboard can show the healthy ones too.
      for (const finding of findings) {
        const accounts = await deps.ctx.accounts.listByWorkspace(finding.workspace.id);
        const rates = await accountRates(
          deps.later,
          accounts.map((a) => a.id),
          now,
        );
        for (const a of accounts) {
          const r = rates.get(a.id)!;
          deps.metrics.accountBounceRate.set({ workspace: finding.workspace.name, account: a.name }, r.bounceRate ?? 0);
          deps.metrics.accountComplaintRate.set({ workspace: finding.workspace.name, account: a.name }, r.complaintRate ?? 0);
        }
      }
    }
    const summary =
      (rows.length === 0
        ? 'every account under its warn level'
        : `${formatCount(rows.length)} account(s) past a level, ${formatCount(findings.reduce((n, f) => n + f.raised.length, 0))} new`) +
      (dryRun ? '; dry run, nothing posted, stored or paused' : `; ${posted} alert(s) posted`);
    return {
      job: REPUTATION_JOB,
      dryRun,
      summary,
      columns: [
        { key: 'workspace', header: 'WORKSPACE' },
        { key: 'account', header: 'ACCOUNT' },
        { key: 'level', header: 'LEVEL' },
        { key: 'outcomes', header: 'OUTCOMES', align: 'right' },
        { key: 'bounceRate', header: 'BOUNCES', align: 'right' },
        { key: 'complaintRate', header: 'COMPLAINTS', align: 'right' },
        { key: 'flag', header: 'FLAG' },
        { key: 'action', header: 'ALERT' },
      ],
      rows,
      details: { at: now.toISOString(), accounts: rows },
    };
  },
};
