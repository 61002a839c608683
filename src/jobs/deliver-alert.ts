// Posting a flag's alert, shared by the jobs. The flag state says whether an alert is pending; the one
// caller that claims it posts, and a failed post puts it back so the next tick tries again.
import type { FlagKind, FlagState, JobAlert, Workspace } from '../domain/index.ts';
import type { JobDeps } from './job.ts';

export type AlertOutcome = 'posted' | 'pending: no alert channel' | 'pending: no Slack token' | 'post failed, pending' | 'posted by another run';

export async function deliverAlert(deps: JobDeps, kind: FlagKind, workspace: Workspace, state: FlagState, alert: JobAlert): Promise<AlertOutcome> {
  const { fingerprint } = state;
  const log = deps.log.child({ workspace: workspace.name, kind });
  // Both stay pending: the alert goes out on the first tick after a channel is set, or from an instance with Slack.
  if (!workspace.alertChannel) {
    log.info({ code: 'JOB_ALERT_NO_CHANNEL' }, `${workspace.name} has no alert channel; the ${kind} alert stays pending`);
    return 'pending: no alert channel';
  }
  if (!deps.alerts) {
    log.info({ code: 'JOB_ALERT_NO_SLACK' }, `no SLACK_BOT_TOKEN in this process; the ${kind} alert for ${workspace.name} stays pending`);
    return 'pending: no Slack token';
  }
  if (!(await deps.flags.claimPendingAlert(workspace.id, kind, fingerprint))) return 'posted by another run';
  try {
    const posted = await deps.alerts.post(workspace.alertChannel, alert);
    await deps.flags.recordAlert(workspace.id, kind, fingerprint, {
      pending: false,
      channel: posted.channel,
      ts: posted.ts,
      postedAt: deps.clock(),
      postedFlagged: state.flagged,
    });
    log.info({ code: 'JOB_ALERT_POSTED', channel: posted.channel, ts: posted.ts }, `${kind} alert posted for ${workspace.name}`);
    return 'posted';
  } catch (err) {
    log.error({ err, code: 'JOB_ALERT_POST_FAILED', channel: workspace.alertChannel }, `could not post the ${kind} alert for ${workspace.name}; retrying next tick`);
    await deps.flags.recordAlert(workspace.id, kind, fingerprint, { ...state.alert, pending: true }).catch((e: unknown) => {
      log.error({ err: e, code: 'JOB_FLAG_STATE_FAILED' }, 'could not put the alert back as pending');
    });
    return 'post failed, pending';
  }
}
