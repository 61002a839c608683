// The alert channel: every change in a workspace (from Slack, the CLI, a webhook or a job) is posted to the
// workspace's alert channel when one is set. Registered in every process that has SLACK_BOT_TOKEN
// (src/runtime.ts). Events never carry a password or a hash; these lines say who, what, when and why.
import { CHANGE_EVENTS, type DomainEvent, type EventType } from '../domain/index.ts';
import { formatCount, formatDate, formatDateTime, humanReason } from '../shared/format.ts';
import { actorText, esc } from './blocks/common.ts';
import { channelPostSink, type ChannelPostSink, type ChannelPostSinkOptions } from './channel-post-sink.ts';

/** Changes this sink announces: every change people make; job flags are posted by their jobs. */
export const ALERTED_EVENTS: readonly EventType[] = CHANGE_EVENTS;

export type SlackAlertSink = ChannelPostSink;

export function slackAlertSink(opts: Pick<ChannelPostSinkOptions, 'client' | 'findWorkspace' | 'log'>): SlackAlertSink {
  return channelPostSink({
    ...opts,
    message: (event) => (ALERTED_EVENTS.includes(event.type) ? { text: alertText(event) } : null),
    failedMessage: 'could not post to the alert channel',
  });
}

function what(event: DomainEvent): string {
  return event.account ? `*${esc(event.account.name)}* (\`${event.account.username}\`)` : 'an account';
}

/** One line per change, for people: who did what to which account, and why. */
export function alertText(event: DomainEvent): string {
  const by = actorText(event.actor);
  const d = event.details ?? {};
  switch (event.type) {
    case 'account.created':
      return `:new: ${by} created SMTP account ${what(event)}.`;
    case 'account.rotated':
      return typeof d.oldPasswordValidUntil === 'string'
        ? `:key: ${by} rotated the password of ${what(event)}; the old password keeps working until ${formatDateTime(new Date(d.oldPasswordValidUntil))}.`
        : `:key: ${by} rotated the password of ${what(event)}; the old password no longer works.`;
    case 'account.limits_changed': {
      const parts: string[] = [];
      const senders = d.allowedSenders as { text?: string } | undefined;
      const rate = d.rateLimit as { to?: string } | undefined;
      if (senders?.text) parts.push(`allowed senders: ${esc(senders.text)}`);
      if (rate?.to) parts.push(`rate limit: ${esc(rate.to)}`);
      const networks = d.allowedNetworks as { text?: string } | undefined;
      if (networks?.text) parts.push(`allowed networks: ${esc(networks.text)}`);
      return `:shield: ${by} changed the sending limits of ${what(event)}${parts.length ? ` (${parts.join('; ')})` : ''}.`;
    }
    case 'account.surge_snoozed': {
      const signals = Array.isArray(d.signals) ? d.signals.map((x) => esc(String(x))).join(', ') : 'surge';
      const until = typeof d.until === 'string' ? ` until ${formatDateTime(new Date(d.until))}` : '';
      return `:ok_hand: ${by} marked the ${signals} surge of ${what(event)} as expected${until}.`;
    }
    case 'account.disabled': {
      const reason = event.reason ?? (typeof d.reason === 'string' ? d.reason : undefined);
      const note = event.note ?? (typeof d.note === 'string' ? d.note : undefined);
      return `:no_entry: ${by} disabled ${what(event)}.${reason ? ` Reason: ${humanReason(reason)}` : ''}${note ? ` — “${esc(note)}”` : ''}`;
    }
    case 'account.enabled':
      return `:large_green_circle: ${by} enabled ${what(event)} again (same credentials).`;
    case 'account.deleted': {
      const forced = d.forced === true ? ` ${formatCount(Number(d.queuedMessages ?? 0))} queued message(s) were dropped.` : '';
      return `:wastebasket: ${by} deleted ${what(event)}.${forced}`;
    }
    case 'account.kept': {
      const until = typeof d.snoozedUntil === 'string' ? ` until ${formatDate(new Date(d.snoozedUntil))}` : '';
      return `:pushpin: ${by} kept idle account ${what(event)}${until}.`;
    }
    case 'plan.changed':
      return `:chart_with_upwards_trend: ${by} changed the plan from *${esc(String((d.from as string | undefined) ?? '?'))}* to *${esc(String((d.to as string | undefined) ?? '?'))}*.`;
    case 'workspace.created':
      return `:office: ${by} created this workspace${typeof d.plan === 'string' ? ` on the ${esc(d.plan)} plan` : ''}.`;
    case 'workspace.updated':
      return `:gear: ${by} changed the workspace settings${Array.isArray(d.settings) ? ` (${d.settings.map((s) => esc(String(s))).join(', ')})` : ''}.`;
    default:
      return `${by}: ${event.type} ${what(event)}`;
  }
}
