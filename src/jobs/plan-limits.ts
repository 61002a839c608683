// Hourly: workspaces whose account slots or monthly emails are near the plan's limits, posted with the
// remedies (dormant accounts, consolidation candidates, the next plan up). Rules: findPlanLimitFlags.
import { findPlanLimitFlags, jobActor, raisePlanLimitFlags, type PlanLimitFinding } from '../domain/index.ts';
import { formatCount } from '../shared/format.ts';
import { deliverAlert } from './deliver-alert.ts';
import type { Job, JobDeps, JobReport } from './job.ts';
import type { JobName } from '../shared/job-names.ts';

export const PLAN_LIMITS_JOB: JobName = 'plan-limits';

async function handle(deps: JobDeps, finding: PlanLimitFinding, dryRun: boolean): Promise<string> {
  const state = finding.changed ? finding.next : finding.previous;
  const pending = state?.alert.pending ?? false;
  const near = finding.status.nearLimit;
  if (dryRun) {
    if (finding.alertDue) return 'would alert';
    if (pending) return 'would retry pending alert';
    if (finding.changed) return near ? 'would update' : 'would clear';
    return near ? 'unchanged' : '';
  }
  if (finding.changed && !(await raisePlanLimitFlags({ ctx: deps.ctx, flags: deps.flags }, finding, jobActor(PLAN_LIMITS_JOB)))) {
    return 'taken by another run';
  }
  if (!near) {
    if (!finding.changed) return '';
    deps.log.info({ code: 'JOB_FLAG_CLEARED', workspace: finding.workspace.name, kind: 'plan-limits' }, `plan-limit flags of ${finding.workspace.name} cleared`);
    return 'cleared';
  }
  if (!pending || !state) return finding.changed ? 'updated' : 'unchanged';
  return deliverAlert(deps, 'plan-limits', finding.workspace, state, { kind: 'plan-limits', finding, idleAfterDays: deps.config.idleAfterDays });
}

export const planLimitsJob: Job = {
  name: PLAN_LIMITS_JOB,
  description: 'workspaces near their account slots or monthly emails, with remedies',
  schedule: (c) => c.planLimitsSchedule,
  async run(deps, opts): Promise<JobReport> {
    const dryRun = opts.dryRun === true;
    const findings = await findPlanLimitFlags(
      { ctx: deps.ctx, flags: deps.flags },
      {
        thresholds: { slotsNearLimitPercent: deps.config.slotsNearLimitPercent, quotaNearLimitPercents: deps.config.quotaNearLimitPercents },
        idleAfterDays: deps.config.idleAfterDays,
        workspaceId: opts.workspaceId,
      },
    );
    const outcomes: { finding: PlanLimitFinding; action: string }[] = [];
    for (const finding of findings) {
      try {
        outcomes.push({ finding, action: await handle(deps, finding, dryRun) });
      } catch (err) {
        deps.log.error({ err, code: 'JOB_WORKSPACE_FAILED', workspace: finding.workspace.name }, `plan-limits: ${finding.workspace.name} failed`);
        outcomes.push({ finding, action: `error: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    // The table lists what matters: workspaces near a limit and those whose flags changed or failed.
    const shown = outcomes.filter((o) => o.finding.status.nearLimit || o.action !== '');
    const near = findings.filter((f) => f.status.nearLimit).length;
    const posted = outcomes.filter((o) => o.action === 'posted').length;
    const failed = outcomes.filter((o) => o.action.startsWith('error')).length;
    const summary =
      `${formatCount(findings.length)} workspace(s) checked, ${formatCount(near)} near a limit` +
      (dryRun ? '; dry run, nothing posted or stored' : `; ${posted} alert(s) posted`) +
      (failed ? `; ${failed} workspace(s) failed` : '');
    return {
      job: PLAN_LIMITS_JOB,
      dryRun,
      summary,
      columns: [
        { key: 'workspace', header: 'WORKSPACE' },
        { key: 'plan', header: 'PLAN' },
        { key: 'slots', header: 'SLOTS', align: 'right' },
        { key: 'emails', header: 'EMAILS THIS MONTH', align: 'right' },
        { key: 'flags', header: 'FLAGS' },
        { key: 'remedies', header: 'REMEDIES' },
        { key: 'action', header: 'ALERT' },
      ],
      rows: shown.map(({ finding: f, action }) => ({
        workspace: f.workspace.name,
        plan: f.usage.plan.id,
        slots: `${f.status.slots.used}/${f.status.slots.limit} (${f.status.slots.percent}%)`,
        emails: `${formatCount(f.status.quota.used)}/${formatCount(f.status.quota.limit)} (${f.status.quota.percent}%)`,
        flags: f.next.flagged.map((k) => k.replace(/@.*$/, '%')).join(' ') || '—',
        remedies: f.status.nearLimit
          ? [
              `${f.remedies.dormant.length} dormant`,
              `${f.remedies.consolidation.length} consolidation group(s)`,
              f.remedies.nextPlan ? `upgrade to ${f.remedies.nextPlan.id}` : 'largest plan',
            ].join(', ')
          : '',
        action,
      })),
      details: {
        thresholds: { slotsNearLimitPercent: deps.config.slotsNearLimitPercent, quotaNearLimitPercents: deps.config.quotaNearLimitPercents },
        workspaces: shown.map(({ finding: f, action }) => ({
          workspace: f.workspace.name,
          workspaceId: f.workspace.id,
          plan: f.usage.plan.id,
          month: f.status.month,
          slots: f.status.slots,
          emails: f.status.quota,
          flags: f.next.flagged,
          action,
          remedies: {
            dormant: f.remedies.dormant.map((a) => ({ name: a.name, lastUsedAt: a.lastUsedAt?.toISOString() ?? null, totalSent: a.counters.sent, idleDays: a.idleDays })),
            consolidation: f.remedies.consolidation,
            nextPlan: f.remedies.nextPlan ?? null,
          },
        })),
      },
    };
  },
};
