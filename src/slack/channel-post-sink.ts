// The one way events reach a workspace's alert channel: a sink that, for each event its `message` builds a post
// for, finds the workspace, picks the Slack client (one bot token, or the team's own in OAuth distribution),
// and posts, without holding up the change that raised the event. The change lines (alerts.ts) and the
// leaked-credential alerts with buttons (leak-alert-sink.ts) are two such sinks with their own messages.
import type { WebClient } from '@slack/web-api';
import type { DomainEvent, EventSink, Workspace } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { slackErrorSummary } from './actor.ts';
import type { AlertMessage } from './blocks/job-alerts.ts';

export interface ChannelPostSink extends EventSink {
  /** Waits (bounded) for posts still in flight, e.g. before a CLI process exits. */
  drain(timeoutMs?: number): Promise<void>;
}

export interface ChannelPostSinkOptions {
  /** One bot token's client, or (OAuth distribution) the client of the workspace's own Slack team. */
  client: WebClient | ((ws: Workspace) => Promise<WebClient | null>);
  findWorkspace: (id: string) => Promise<Workspace | null>;
  log: Logger;
  /** The post for this event, or null when this sink does not announce it. */
  message: (event: DomainEvent) => (Pick<AlertMessage, 'text'> & Partial<AlertMessage>) | null;
  /** The log line of a failed post (code SLACK_ALERT_FAILED). */
  failedMessage: string;
  /** Called after a post (each sink logs its own code). */
  posted?: (event: DomainEvent) => void;
  /** Called when the workspace has no alert channel. */
  noChannel?: (event: DomainEvent) => void;
}

export function channelPostSink(opts: ChannelPostSinkOptions): ChannelPostSink {
  const pending = new Set<Promise<void>>();
  const { log } = opts;
  const post = async (event: DomainEvent, m: Pick<AlertMessage, 'text'> & Partial<AlertMessage>) => {
    const where = { event: event.type, workspaceId: event.workspaceId };
    try {
      const ws = await opts.findWorkspace(event.workspaceId);
      if (!ws?.alertChannel) {
        opts.noChannel?.(event);
        return;
      }
      const client = typeof opts.client === 'function' ? await opts.client(ws) : opts.client;
      if (!client) throw new Error(`no Slack installation for team ${ws.slackTeamId ?? '(none)'}`);
      await client.chat.postMessage({ channel: ws.alertChannel, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}), unfurl_links: false, unfurl_media: false });
      opts.posted?.(event);
    } catch (err) {
      log.warn({ code: 'SLACK_ALERT_FAILED', ...where, err: slackErrorSummary(err) }, opts.failedMessage);
    }
  };
  return {
    // Not awaited by the use case: a slow or rate-limited Slack must not hold up the change itself.
    publish(event) {
      const m = opts.message(event);
      if (!m) return;
      const p = post(event, m);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async drain(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    },
  };
}
