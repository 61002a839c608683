// The port the scheduled jobs post their alerts through: what was found, not how a chat app shows it. In the
// domain so that the jobs and the chat adapter both depend on it and not on each other; the composition root
// plugs in Slack's implementation (src/slack/job-alert-poster.ts), and a process without Slack has none.
import type { IdleFinding, PlanLimitFinding } from './flag-scans.ts';
import type { SurgeFinding } from './surge.ts';
import type { HygieneFinding } from './credential-hygiene.ts';
import type { Workspace } from './model.ts';
import type { ReputationFinding } from './reputation.ts';

export type JobAlert =
  | {
      kind: 'idle-accounts';
      finding: Pick<IdleFinding, 'workspace' | 'accounts' | 'raised'>;
      now: Date;
      idleAfterDays: number;
      snoozeDays: number;
    }
  | { kind: 'plan-limits'; finding: Pick<PlanLimitFinding, 'workspace' | 'usage' | 'status' | 'remedies'>; idleAfterDays: number }
  | { kind: 'surge'; finding: Pick<SurgeFinding, 'workspace' | 'raised'>; snoozeHours: number; disabled: readonly string[] }
  | { kind: 'credential-hygiene'; workspace: Pick<Workspace, 'id' | 'name' | 'slackTeamId'>; findings: readonly HygieneFinding[]; now: Date }
  | { kind: 'reputation'; finding: Pick<ReputationFinding, 'workspace' | 'raised' | 'settings'>; paused: readonly string[] };

export interface AlertPoster {
  /** Posts to `channel`; where it landed, so that a later action can find the message. */
  post(channel: string, alert: JobAlert): Promise<{ channel: string; ts: string }>;
}
