// The Web API client settings shared by the Bolt app and the alert sink: base URL (SLACK_API_URL), retries
// that honour 429 Retry-After, and a logger that never writes request or response bodies.
import type { LogLevel, Logger as SlackLogger } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';

/**
 * Rate-limited calls (429) are retried after Retry-After by the WebClient (rejectRateLimitedCalls: false); other
 * transient failures are retried with backoff. Bounded: a few attempts within about a minute.
 */
export const SLACK_RETRY = { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 15_000, randomize: true } as const;

export function webClientOptions(config: Config, log: Logger): WebClientOptions {
  const opts: WebClientOptions = {
    logger: slackLogger(log, 'slack-web-api'),
    retryConfig: { ...SLACK_RETRY },
    rejectRateLimitedCalls: false,
    timeout: 20_000,
  };
  if (config.slack.apiUrl) opts.slackApiUrl = config.slack.apiUrl.endsWith('/') ? config.slack.apiUrl : `${config.slack.apiUrl}/`;
  return opts;
}

export function createWebClient(config: Config, log: Logger): WebClient {
  return new WebClient(config.slack.botToken, webClientOptions(config, log));
}

/**
 * Bolt and the Web API client log request and response bodies at debug level; those bodies can hold a
 * password on its way to the requester. Debug lines are therefore dropped, and other lines keep only text.
 */
export function slackLogger(log: Logger, library: string): SlackLogger {
  // `library`, not `component`: the caller's logger usually has a component already, and a JSON line with
  // the same key twice reads differently in every tool.
  const child = log.child({ library });
  let level = 'info' as LogLevel;
  const text = (msg: unknown[]) =>
    msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : typeof m === 'number' || typeof m === 'boolean' ? String(m) : '[object]'))
      .join(' ')
      .slice(0, 500);
  return {
    debug: () => {},
    info: (...msg: unknown[]) => child.info({ code: 'SLACK_LIBRARY' }, text(msg)),
    warn: (...msg: unknown[]) => child.warn({ code: 'SLACK_LIBRARY' }, text(msg)),
    error: (...msg: unknown[]) => child.error({ code: 'SLACK_LIBRARY' }, text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
