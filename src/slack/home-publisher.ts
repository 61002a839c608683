// App Home: the dashboard published for one viewer, and the list of recent viewers per workspace so that any
// change in the workspace re-publishes their dashboard. Kept in memory: losing it only means a viewer sees
// fresh data the next time they open the tab.
import type { WebClient } from '@slack/web-api';
import { accountRates, CHANGE_EVENTS, dailyStatsOf, listAccounts, readUsage, type DomainEvent, type EventSink } from '../domain/index.ts';
import { slackErrorSummary, type ResolvedActor } from './actor.ts';
import { homeListOptions, homeView } from './blocks/home-blocks.ts';
import type { SlackDeps } from './deps.ts';

export { HomeViewers } from './home-viewers.ts';

/** Builds and publishes the dashboard for `userId` as `resolved.actor` sees it. */
export async function publishHome(deps: SlackDeps, client: WebClient, resolved: ResolvedActor, userId: string): Promise<void> {
  const { workspace, actor } = resolved;
  const idleAfterDays = deps.ctx.idleAfterDays;
  const list = deps.home.listOf(workspace.id, userId) ?? 'name';
  const [accounts, usage] = await Promise.all([listAccounts(deps.ctx, actor, workspace.id, homeListOptions(list, idleAfterDays)), readUsage(deps.ctx, workspace.id)]);
  // One read for every row's 30 days (deterministic _ids).
  const daily = await dailyStatsOf(
    deps.ctx,
    accounts.map((a) => a.id),
    30,
  );
  const rates = await accountRates(
    deps.reputation.later,
    accounts.map((a) => a.id),
    deps.ctx.clock(),
  );
  const view = homeView({ actor, accounts, usage, command: deps.config.slack.command, now: deps.ctx.clock(), idleAfterDays, list, daily, rates });
  await client.views.publish({ user_id: userId, view });
}

/** Any change people make can alter a dashboard (counts, statuses, the plan). */
const REFRESH_ON: ReadonlySet<DomainEvent['type']> = new Set(CHANGE_EVENTS);

/**
 * A domain-event subscriber that re-publishes App Home for the workspace's recent viewers after a change.
 * Changes arriving while a refresh runs are coalesced into one more refresh, so a burst of changes costs two
 * rounds of views.publish, not one per change.
 */
export function homeRefresher(deps: SlackDeps, clientOf: WebClient | ((teamId: string) => Promise<WebClient | null>)): EventSink {
  const state = new Map<string, { again: boolean }>();
  const refresh = async (workspaceId: string) => {
    for (const v of deps.home.recent(workspaceId)) {
      try {
        const client = typeof clientOf === 'function' ? await clientOf(v.teamId) : clientOf;
        if (!client) continue;
        const resolved = await deps.directory.resolve(client, { teamId: v.teamId, userId: v.userId });
        await publishHome(deps, client, resolved, v.userId);
      } catch (err) {
        deps.log.warn({ code: 'SLACK_HOME_REFRESH_FAILED', user: v.userId, err: slackErrorSummary(err) }, 'could not refresh App Home');
      }
    }
  };
  return {
    publish(event) {
      if (!REFRESH_ON.has(event.type) || deps.home.recent(event.workspaceId).length === 0) return;
      const running = state.get(event.workspaceId);
      if (running) {
        running.again = true;
        return;
      }
      const s = { again: false };
      state.set(event.workspaceId, s);
      deps.background.run(async () => {
        try {
          do {
            s.again = false;
            await refresh(event.workspaceId);
          } while (s.again);
        } finally {
          state.delete(event.workspaceId);
        }
      });
    },
  };
}
