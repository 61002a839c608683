// OAuth distribution: `app_uninstalled` and `tokens_revoked` remove the team's installation, so no token of a
// team that removed the app stays in the database.
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { safeError } from '../replies.ts';

export function registerInstallationEvents(app: App, deps: SlackDeps): void {
  const store = deps.installations;
  if (!store) return;
  const remove = async (why: string, body: { team_id?: string; enterprise_id?: string; is_enterprise_install?: boolean }) => {
    try {
      const teamId = body.is_enterprise_install ? undefined : body.team_id;
      await store.removeTeam(teamId, body.enterprise_id);
      deps.metrics.slackRequests.inc({ kind: 'event', result: 'ok' });
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'event', result: 'error' });
      deps.log.error({ code: 'SLACK_UNINSTALL_FAILED', why, team: body.team_id, err: safeError(err) }, 'could not remove a Slack installation');
    }
  };
  app.event('app_uninstalled', async ({ body }) => remove('app_uninstalled', body));
  app.event('tokens_revoked', async ({ event, body }) => {
    // Only the bot token matters to smtpdesk: user tokens revoked alone leave the installation working.
    if ((event.tokens.bot ?? []).length > 0) await remove('tokens_revoked', body);
  });
}
