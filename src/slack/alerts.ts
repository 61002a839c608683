// The alert channel: every change in a workspace (from Slack, the CLI, a webhook or a job) is posted to the
// workspace's alert channel when one is set. Registered in every process that has SLACK_BOT_TOKEN
// (src/runtime.ts). Events never carry a password or a hash; these lines say who, what, when and why.
import type { WebClient } from '@slack/web-api';
import { CHANGE_EVENTS, type DomainEvent, type EventSink, type EventType, type Workspace } from '../domain/index.ts';
import { formatCount, formatDate, formatDateTime, humanReason } from '../shared/format.ts';
import type { Logger } from '../log.ts';
import { slackErrorSummary } from './actor.ts';
import { actorText, esc } from './blocks/common.ts';

/** Changes this sink announces: every change people make; job flags are posted by their jobs. */
export const ALERTED_EVENTS: readonly EventType[] = CHANGE_EVENTS;

export interface SlackAlertSink extends EventSink {
  /** Waits (bounded) for posts still in flight, e.g. before a CLI process exits. */
  drain(timeoutMs?: number): Promise<void>;
}

export function slackAlertSink(opts: {
  /** One bot token's client, or (OAuth distribution) the client of the workspace's own Slack team. */
  client: WebClient | ((ws: Workspace) => Promise<WebClient | null>);
  findWorkspace: (id: string) => Promise<Workspace | null>;
  log: Logger;
}): SlackAlertSink {
  const pending = new Set<Promise<void>>();
  const post = async (event: DomainEvent) => {
    try {
      const ws = await opts.findWorkspace(event.workspaceId);
      if (!ws?.alertChannel) return;
      const client = typeof opts.client === 'function' ? await opts.client(ws) : opts.client;
      if (!client) throw new Error(`no Slack installation for team ${ws.slackTeamId ?? '(none)'}`);
      await client.chat.postMessage({ channel: ws.alertChannel, text: alertText(event), unfurl_links: false, unfurl_media: false });
    } catch (err) {
      opts.log.warn({ code: 'SLACK_ALERT_FAILED', event: event.type, workspaceId: event.workspaceId, err: slackErrorSummary(err) }, 'could not post to the alert channel');
    }
  };
  return {
    // Not awaited by the use case: a slow or rate-limited Slack must not hold up the change itself.
    publish(event) {
      if (!ALERTED_EVENTS.includes(event.type)) return;
      const p = post(event);
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
