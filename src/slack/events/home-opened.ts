// app_home_opened: publish the dashboard for the viewer and remember them for refreshes.
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { homeErrorView } from '../blocks/home-blocks.ts';
import { publishHome } from '../home-publisher.ts';
import { safeError } from '../replies.ts';

export function registerHomeOpened(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', homeOpenedListener(deps));
}

/** The listener, built from its deps at registration. */
export const homeOpenedListener =
  (deps: SlackDeps) =>
  async ({ event, body, client }: Pick<SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs, 'event' | 'body' | 'client'>): Promise<void> => {
    // Events are acknowledged by Bolt before listeners run.
    if (event.tab !== 'home') return;
    const teamId = body.team_id;
    try {
      const resolved = await deps.directory.resolve(client, { teamId, userId: event.user });
      deps.home.opened(resolved.workspace.id, teamId, event.user);
      await publishHome(deps, client, resolved, event.user);
      deps.metrics.slackRequests.inc({ kind: 'event', result: 'ok' });
      deps.log.info({ code: 'SLACK_HOME_PUBLISHED', user: event.user, team: teamId }, 'App Home published');
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'event', result: 'error' });
      deps.log.error({ code: 'SLACK_HOME_PUBLISH_FAILED', user: event.user, err: safeError(err) }, 'could not publish App Home');
      // The viewer is told on the tab itself.
      await client.views.publish({ user_id: event.user, view: homeErrorView() }).catch(() => undefined);
    }
  };
