// Where the jobs' alerts go: the workspace's alert channel in Slack, through the Web API (chat.postMessage),
// with the Slack app's client settings (SLACK_API_URL, logging) but a job's patience. Implements the domain's
// AlertPoster port; the composition root hands it to the jobs.
import { WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import type { AlertPoster, JobAlert } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { idleAlertMessage, planLimitAlertMessage, type AlertMessage } from './blocks/job-alerts.ts';
import { surgeAlertMessage } from './blocks/surge-alert.ts';
import { credentialHygieneMessage } from './blocks/leak-alerts.ts';
import { reputationAlertMessage } from './blocks/reputation-alert.ts';
import { webClientOptions } from './client.ts';

/** The alert as Slack shows it; `command` is the slash command its hints name (SLACK_COMMAND). */
export function jobAlertMessage(alert: JobAlert, command: string): AlertMessage {
  switch (alert.kind) {
    case 'idle-accounts':
      return idleAlertMessage(alert.finding, { now: alert.now, idleAfterDays: alert.idleAfterDays, snoozeDays: alert.snoozeDays, command });
    case 'plan-limits':
      return planLimitAlertMessage(alert.finding, { idleAfterDays: alert.idleAfterDays, command });
    case 'surge':
      return surgeAlertMessage(alert.finding, { snoozeHours: alert.snoozeHours, disabled: alert.disabled, command });
    case 'credential-hygiene':
      return credentialHygieneMessage(alert.workspace, alert.findings);
    case 'reputation':
      return reputationAlertMessage(alert.finding, { paused: alert.paused, command });
  }
}

/** After Slack itself failed (network, HTTP error, rate limit), posts fail fast for this long. */
const BREAK_MS = 60_000;

/**
 * Posts with chat.postMessage. When Slack is unreachable, one run over a thousand workspaces must not wait a
 * minute for each: after such a failure further posts fail at once for a minute, and their alerts stay
 * pending for the next tick. A refusal about one channel (channel_not_found…) affects only that post.
 */
export function slackAlertPoster(
  clientOf: WebClient | ((slackTeamId: string | undefined) => Promise<WebClient | null>),
  command: string,
  now: () => number = Date.now,
): AlertPoster {
  let brokenUntil = 0;
  let lastFailure = '';
  return {
    async post(channel, alert) {
      const message = jobAlertMessage(alert, command);
      if (now() < brokenUntil) throw new Error(`Slack unavailable (${lastFailure}); not tried again until ${new Date(brokenUntil).toISOString()}`);
      // OAuth distribution: the alert goes out with the token of the workspace's own Slack team.
      const team = 'finding' in alert ? alert.finding.workspace.slackTeamId : alert.workspace.slackTeamId;
      const client = typeof clientOf === 'function' ? await clientOf(team) : clientOf;
      if (!client) throw new Error(`no Slack installation for team ${team ?? '(none)'}`);
      try {
        const res = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false });
        return { channel: res.channel ?? channel, ts: res.ts ?? '' };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'slack_webapi_platform_error') {
          brokenUntil = now() + BREAK_MS;
          lastFailure = err instanceof Error ? err.message : String(err);
        }
        throw err;
      }
    },
  };
}

/**
 * A poster from the Slack settings, or null when there is no bot token (alerts then stay pending). With OAuth
 * distribution and no bot token, `teams` gives each workspace's own team client.
 */
export function createAlertPoster(config: Config, log: Logger, teams?: (slackTeamId: string | undefined) => Promise<WebClient | null>): AlertPoster | null {
  if (!config.slack.botToken) return teams ? slackAlertPoster(teams, config.slack.command) : null;
  const client = new WebClient(config.slack.botToken, {
    ...webClientOptions(config, log),
    // A tick can wait a little; a post that still fails is tried again on the next tick.
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
    timeout: 10_000,
  });
  return slackAlertPoster(client, config.slack.command);
}
