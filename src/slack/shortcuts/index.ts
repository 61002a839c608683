// Shortcuts. Global: "Request an SMTP account" opens the request modal from anywhere in Slack. Message:
// "Disable this SMTP account" on one of smtpdesk's alert messages opens the disable modal for the account the
// alert is about (the modal checks the role again when it opens and when it is submitted).
import type { App, GlobalShortcut, MessageShortcut } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { findAccountByUsernameOrThrow } from '../../domain/index.ts';
import { requestModal } from '../blocks/requests.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION, SHORTCUT } from '../ids.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { encodeMeta } from '../views/meta.ts';
import { openAccountModal } from '../views/open.ts';

export function registerShortcuts(app: App, deps: SlackDeps): void {
  app.shortcut<GlobalShortcut>(SHORTCUT.requestAccount, async ({ ack, shortcut, client }) => {
    await ack();
    try {
      await client.views.open({ trigger_id: shortcut.trigger_id, view: requestModal(encodeMeta({ w: '', o: 'message' })) });
      deps.metrics.slackRequests.inc({ kind: 'shortcut', result: 'ok' });
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'shortcut', result: 'error' });
      deps.log.warn({ code: 'SLACK_SHORTCUT_FAILED', shortcut: 'request', err: safeError(err) }, 'could not open the request modal');
    }
  });

  app.shortcut<MessageShortcut>(SHORTCUT.disableFromMessage, async ({ ack, shortcut, client, context }) => {
    await ack();
    const teamId = shortcut.team?.id ?? shortcut.user.team_id ?? '';
    const who = () => deps.directory.resolve(client, { teamId, userId: shortcut.user.id, userName: shortcut.user.username ?? shortcut.user.name });
    try {
      const name = isOurs(shortcut, context.botId) ? await accountOfAlert(deps, shortcut.message, (await who()).workspace.id) : undefined;
      if (!name) {
        await tell(deps, client, shortcut, ':information_source: *Disable this SMTP account* works on smtpdesk’s alert messages that name an account.');
        return;
      }
      await openAccountModal(deps, client, shortcut.trigger_id, 'disable', name, who, { origin: 'message', channelId: shortcut.channel.id });
      deps.metrics.slackRequests.inc({ kind: 'shortcut', result: 'ok' });
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'shortcut', result: 'error' });
      await tell(deps, client, shortcut, `:no_entry_sign: ${explainFailure(deps, err, { op: 'shortcut.disable', user: shortcut.user.id })}`);
    }
  });
}

function isOurs(s: MessageShortcut, botId: string | undefined): boolean {
  const m = s.message as { bot_id?: string; app_id?: string };
  const appId = (s as unknown as { api_app_id?: string }).api_app_id;
  return Boolean((botId && m.bot_id === botId) || (appId && m.app_id === appId));
}

/**
 * The account an alert is about: the value of one of its account buttons (JSON with `n`, or the name itself),
 * else a username in `code` in its text, looked up in the clicker's workspace.
 */
async function accountOfAlert(deps: SlackDeps, message: MessageShortcut['message'], workspaceId: string): Promise<string | undefined> {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.type === 'button' && typeof o.value === 'string' && typeof o.action_id === 'string') {
      const fromJson = (() => {
        try {
          const j = JSON.parse(o.value) as { n?: unknown; w?: unknown };
          return typeof j.n === 'string' && (j.w === undefined || j.w === workspaceId) ? j.n : undefined;
        } catch {
          return undefined;
        }
      })();
      const accountButtons: string[] = [ACTION.disable, ACTION.rotate, ACTION.delete, ACTION.enable, ACTION.limits];
      const name = fromJson ?? (accountButtons.includes(o.action_id) ? o.value : undefined);
      if (name) names.add(name);
    }
    Object.values(o).forEach(walk);
  };
  walk(message.blocks);
  if (names.size === 1) return [...names][0];
  if (names.size > 1) return undefined;
  for (const m of String(message.text ?? '').matchAll(/`([a-z0-9][a-z0-9._-]{2,63})`/gi)) {
    try {
      const account = await findAccountByUsernameOrThrow(deps.ctx, m[1]!);
      if (account.workspaceId === workspaceId) return account.name;
    } catch {
      // not a username of ours
    }
  }
  return undefined;
}

async function tell(deps: SlackDeps, client: WebClient, s: MessageShortcut, text: string): Promise<void> {
  try {
    await sendPrivately(deps, client, { userId: s.user.id, channelId: s.channel.id, responseUrl: s.response_url }, { text });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(err) }, 'could not answer a shortcut');
  }
}
