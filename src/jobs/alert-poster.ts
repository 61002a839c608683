// Where the jobs' alerts go: the workspace's alert channel in Slack, through the Web API (chat.postMessage).
import { LogLevel, WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import type { AlertMessage } from '../slack/blocks/job-alerts.ts';

export interface AlertPoster {
  post(channel: string, message: AlertMessage): Promise<{ channel: string; ts: string }>;
}

export function slackAlertPoster(client: WebClient): AlertPoster {
  return {
    async post(channel, message) {
      const res = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false });
      return { channel: res.channel ?? channel, ts: res.ts ?? '' };
    },
  };
}

/**
 * A poster from the Slack settings, or null when there is no bot token. A job waits for Slack briefly: a run
 * that cannot post leaves the alert pending for the next tick rather than retrying for half an hour.
 */
export function createAlertPoster(slack: Config['slack']): AlertPoster | null {
  if (!slack.botToken) return null;
  const opts: ConstructorParameters<typeof WebClient>[1] = {
    logLevel: LogLevel.ERROR,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
    timeout: 10_000,
  };
  if (slack.apiUrl) opts.slackApiUrl = slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/`;
  return slackAlertPoster(new WebClient(slack.botToken, opts));
}
