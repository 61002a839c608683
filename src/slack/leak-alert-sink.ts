// Posts the leaked-credential alerts with their buttons to the workspace's alert channel: `account.leaked`
// (from the secret-scanning webhook or `accounts report-leak`, in whichever process handled it) and
// `account.network_refused` (from the relay). Registered beside the change-line sink (alerts.ts) in every
// process with SLACK_BOT_TOKEN, by the composition root (src/app-runtime.ts).
import type { WebClient } from '@slack/web-api';
import type { DomainEvent, EventSink, EventType, Workspace } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { slackErrorSummary } from './actor.ts';
import type { AlertMessage } from './blocks/job-alerts.ts';
import { leakAlertMessage, networkRefusalAlertMessage } from './blocks/leak-alerts.ts';

const MESSAGES: Partial<Record<EventType, (e: DomainEvent) => AlertMessage>> = {
  'account.leaked': leakAlertMessage,
  'account.network_refused': networkRefusalAlertMessage,
};

export interface LeakAlertSink extends EventSink {
  drain(timeoutMs?: number): Promise<void>;
}

export function leakAlertSink(opts: {
  /** One bot token's client, or (OAuth distribution) the client of the workspace's own Slack team. */
  client: WebClient | ((ws: Workspace) => Promise<WebClient | null>);
  findWorkspace: (id: string) => Promise<Workspace | null>;
  log: Logger;
}): LeakAlertSink {
  const pending = new Set<Promise<void>>();
  const post = async (event: DomainEvent, build: (e: DomainEvent) => AlertMessage) => {
    try {
      const ws = await opts.findWorkspace(event.workspaceId);
      if (!ws?.alertChannel) {
        opts.log.warn({ code: 'SLACK_LEAK_ALERT_NO_CHANNEL', event: event.type, workspaceId: event.workspaceId }, 'no alert channel: the leak alert is only in the audit');
        return;
      }
      const m = build(event);
      const client = typeof opts.client === 'function' ? await opts.client(ws) : opts.client;
      if (!client) throw new Error(`no Slack installation for team ${ws.slackTeamId ?? '(none)'}`);
      await client.chat.postMessage({ channel: ws.alertChannel, text: m.text, blocks: m.blocks, unfurl_links: false, unfurl_media: false });
      opts.log.info({ code: 'SLACK_LEAK_ALERT_POSTED', event: event.type, workspaceId: event.workspaceId, account: event.account?.name }, 'leak alert posted');
    } catch (err) {
      opts.log.warn({ code: 'SLACK_ALERT_FAILED', event: event.type, workspaceId: event.workspaceId, err: slackErrorSummary(err) }, 'could not post the leak alert');
    }
  };
  return {
    // Not awaited by the use case: the account is already contained; the post must not hold up the answer.
    publish(event) {
      const build = MESSAGES[event.type];
      if (!build || !event.account) return;
      const p = post(event, build);
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
