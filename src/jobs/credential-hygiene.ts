// Daily (JOB_CREDENTIAL_HYGIENE_SCHEDULE): one digest per workspace in its alert channel, listing the accounts
// whose password is older than --max-password-age, that were not used for --unused-after, or never used since
// creation, each with Rotate and Disable. Only what no digest showed before: the same finding is never posted
// twice (the flag state remembers what was posted; src/domain/credential-hygiene.ts names each finding).
import { HYGIENE_FLAG_KIND, scanCredentialHygiene, type HygieneScan, type JobAlert } from '../domain/index.ts';
import { formatCount } from '../shared/format.ts';
import { deliverAlert } from './deliver-alert.ts';
import type { Job, JobDeps, JobReport } from './job.ts';
import type { JobName } from '../shared/job-names.ts';

export const CREDENTIAL_HYGIENE_JOB: JobName = 'credential-hygiene';

async function handle(deps: JobDeps, scan: HygieneScan, dryRun: boolean): Promise<string> {
  if (dryRun) return scan.fresh.length ? 'would post' : scan.changed ? 'would update' : 'unchanged';
  if (scan.changed && !(await deps.flags.replace(scan.previous ? scan.previous.fingerprint : null, scan.next))) return 'taken by another run';
  if (scan.findings.length === 0) return 'cleared';
  if (!scan.next.alert.pending || scan.fresh.length === 0) return scan.changed ? 'updated' : 'unchanged';
  const alert: JobAlert = { kind: 'credential-hygiene', workspace: scan.workspace, findings: scan.fresh, now: deps.clock() };
  return deliverAlert(deps, HYGIENE_FLAG_KIND, scan.workspace, scan.next, alert);
}

export const credentialHygieneJob: Job = {
  name: CREDENTIAL_HYGIENE_JOB,
  description: 'passwords past --max-password-age, accounts unused past --unused-after or never used: one digest with Rotate / Disable',
  schedule: (c) => c.credentialHygieneSchedule,
  async run(deps, opts): Promise<JobReport> {
    const dryRun = opts.dryRun === true;
    const now = deps.clock();
    const scans = await scanCredentialHygiene({ ctx: deps.ctx, flags: deps.flags }, { now, workspaceId: opts.workspaceId });
    const outcomes: { scan: HygieneScan; action: string }[] = [];
    for (const scan of scans) {
      try {
        outcomes.push({ scan, action: await handle(deps, scan, dryRun) });
      } catch (err) {
        deps.log.error({ err, code: 'JOB_WORKSPACE_FAILED', workspace: scan.workspace.name }, `credential-hygiene: ${scan.workspace.name} failed`);
        outcomes.push({ scan, action: `error: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    const rows = outcomes.flatMap(({ scan, action }) => {
      const fresh = new Set(scan.fresh.map((f) => f.key));
      return scan.findings.map((f, i) => ({
        workspace: scan.workspace.name,
        account: f.account.name,
        finding: f.kind.replace('_', ' '),
        days: f.days,
        seen: f.text,
        flag: fresh.has(f.key) ? 'new' : 'posted before',
        action: i === 0 ? action : '',
      }));
    });
    const fresh = scans.reduce((n, s) => n + s.fresh.length, 0);
    const posted = outcomes.filter((o) => o.action === 'posted').length;
    const summary =
      (rows.length === 0 ? 'no credential findings' : `${formatCount(rows.length)} finding(s), ${formatCount(fresh)} new`) +
      (dryRun ? '; dry run, nothing posted or stored' : `; ${posted} digest(s) posted`);
    return {
      job: CREDENTIAL_HYGIENE_JOB,
      dryRun,
      summary,
      columns: [
        { key: 'workspace', header: 'WORKSPACE' },
        { key: 'account', header: 'ACCOUNT' },
        { key: 'finding', header: 'FINDING' },
        { key: 'days', header: 'DAYS', align: 'right' },
        { key: 'flag', header: 'FLAG' },
        { key: 'action', header: 'DIGEST' },
        { key: 'seen', header: 'SEEN' },
      ],
      rows,
      details: {
        at: now.toISOString(),
        workspaces: outcomes.map(({ scan, action }) => ({
          workspace: scan.workspace.name,
          action,
          findings: scan.findings.map((f) => ({ account: f.account.name, username: f.account.username, kind: f.kind, days: f.days, text: f.text, new: scan.fresh.includes(f) })),
        })),
      },
    };
  },
};
