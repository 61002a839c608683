// The Slack role: started by `npm start` when SLACK_BOT_TOKEN is set (alone with `--role slack`).
import type { RoleStarter } from '../role-starter.ts';
import type { Runtime } from '../runtime.ts';
import { SlackDirectory } from './actor.ts';
import { buildSlackApp, type SlackApp } from './app.ts';
import { BackgroundTasks, type SlackDeps } from './deps.ts';
import { homeRefresher } from './home-publisher.ts';
import { HomeViewers } from './home-viewers.ts';
import { SLACK_EVENTS_PATH, SLACK_INSTALL_PATH } from './ids.ts';
import { installationStoreFor, teamClients } from './team-clients.ts';
import { flagRepository } from '../store/repositories/flags.ts';
import { laterOutcomeRepository } from '../store/later-outcomes.ts';

export function createSlackDeps(rt: Runtime, overrides: Partial<Pick<SlackDeps, 'submitDeadlineMs' | 'directory' | 'home'>> = {}): SlackDeps {
  const log = rt.log.child({ component: 'slack' });
  return {
    ctx: rt.ctx,
    config: rt.config,
    log,
    metrics: rt.metrics,
    directory: overrides.directory ?? new SlackDirectory({ ctx: rt.ctx, slack: rt.config.slack, defaultPlan: rt.config.accounts.defaultPlan, log }),
    home: overrides.home ?? new HomeViewers(),
    // Slack waits 3 s for a modal's answer; leave room for the network.
    submitDeadlineMs: overrides.submitDeadlineMs ?? 2_000,
    background: new BackgroundTasks(),
    ...(rt.config.slack.oauth ? { installations: installationStoreFor(rt, log) } : {}),
    reputation: { flags: flagRepository(rt.db.models), later: laterOutcomeRepository(rt.db.models, rt) },
  };
}

export interface RunningSlack {
  deps: SlackDeps;
  slack: SlackApp;
  port?: number;
  stop(): Promise<void>;
}

/** Builds, starts and wires the Slack app (also used by tests, with port 0). */
export async function runSlack(rt: Runtime, opts: { port?: number; deps?: SlackDeps } = {}): Promise<RunningSlack> {
  const deps = opts.deps ?? createSlackDeps(rt);
  const slack = buildSlackApp(deps);
  const { port } = await slack.start(opts.port);
  // OAuth: no app-wide token; each team's dashboards are re-published with that team's client.
  const clients = deps.installations ? teamClients(rt, deps.log, deps.installations) : undefined;
  const unsubscribe = rt.events.subscribe(homeRefresher(deps, clients ?? slack.app.client));
  return {
    deps,
    slack,
    port,
    async stop() {
      unsubscribe();
      await slack.stop();
      await deps.background.drain();
    },
  };
}

export const startSlackRole: RoleStarter = async (rt) => {
  if (!rt.config.slack.enabled) {
    rt.log.info({ code: 'SLACK_DISABLED' }, 'Slack role not started: neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID is set');
    return null;
  }
  const running = await runSlack(rt);
  const s = rt.config.slack;
  const description =
    running.slack.mode === 'socket'
      ? `Slack app in Socket Mode (${s.command})`
      : `Slack app over HTTP on port ${running.port ?? s.port} at ${SLACK_EVENTS_PATH} (${s.command})${running.slack.oauth ? `, installs at ${SLACK_INSTALL_PATH}` : ''}`;
  return { description, ready: () => true, stop: () => running.stop() };
};
