// Posts the leaked-credential alerts with their buttons to the workspace's alert channel: `account.leaked`
// (from the secret-scanning webhook or `accounts report-leak`, in whichever process handled it) and
// `account.network_refused` (from the relay). Registered beside the change-line sink (alerts.ts) in every
// process with SLACK_BOT_TOKEN, by the composition root (src/app-runtime.ts).
import type { DomainEvent, EventType } from '../domain/index.ts';
import type { AlertMessage } from './blocks/job-alerts.ts';
import { leakAlertMessage, networkRefusalAlertMessage } from './blocks/leak-alerts.ts';
import { channelPostSink, type ChannelPostSink, type ChannelPostSinkOptions } from './channel-post-sink.ts';

const MESSAGES: Partial<Record<EventType, (e: DomainEvent) => AlertMessage>> = {
  'account.leaked': leakAlertMessage,
  'account.network_refused': networkRefusalAlertMessage,
};

export type LeakAlertSink = ChannelPostSink;

export function leakAlertSink(opts: Pick<ChannelPostSinkOptions, 'client' | 'findWorkspace' | 'log'>): LeakAlertSink {
  return channelPostSink({
    ...opts,
    message: (event) => {
      const build = MESSAGES[event.type];
      return build && event.account ? build(event) : null;
    },
    failedMessage: 'could not post the leak alert',
    posted: (event) => opts.log.info({ code: 'SLACK_LEAK_ALERT_POSTED', event: event.type, workspaceId: event.workspaceId, account: event.account?.name }, 'leak alert posted'),
    noChannel: (event) =>
      opts.log.warn({ code: 'SLACK_LEAK_ALERT_NO_CHANNEL', event: event.type, workspaceId: event.workspaceId }, 'no alert channel: the leak alert is only in the audit'),
  });
}
