// The buttons on the idle-accounts alert: Disable and Delete open the same modals as the slash command (the
// roles are checked there, and a refusal says why); Keep snoozes the account's idle flag and marks the alert.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError, keepIdleAccount } from '../../domain/index.ts';
import { formatDate } from '../../shared/format.ts';
import type { ResolvedActor } from '../actor.ts';
import { slackErrorSummary } from '../actor.ts';
import { decodeIdleButton, idleAlertAfterAction, type IdleButtonValue } from '../blocks/job-alerts.ts';
import type { Block } from '../blocks/common.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION } from '../ids.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { openAccountModal } from '../views/open.ts';
import { actorOf, originOf } from './home-actions.ts';

/** The clicker, resolved as for the slash command, refused if the alert is another workspace's. */
function clickerFor(deps: SlackDeps, client: WebClient, body: BlockAction, target: IdleButtonValue): () => Promise<ResolvedActor> {
  return async () => {
    const resolved = await actorOf(deps, client, body)();
    if (resolved.workspace.id !== target.workspaceId) {
      throw new DomainError('PERMISSION.DENIED', 'This alert belongs to another workspace.', { workspaceId: target.workspaceId });
    }
    return resolved;
  };
}

async function tell(deps: SlackDeps, client: WebClient, body: BlockAction, text: string): Promise<void> {
  try {
    await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id, responseUrl: body.response_url }, { text });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(err) }, 'could not tell the user about an idle-alert action');
  }
}

function targetOf(deps: SlackDeps, action: ButtonAction): IdleButtonValue | null {
  const target = decodeIdleButton(action.value);
  if (!target) deps.log.warn({ code: 'SLACK_JOB_ALERT_BAD_VALUE', actionId: action.action_id }, 'idle-alert button without a readable value');
  return target;
}

export function registerJobAlertActions(app: App, deps: SlackDeps): void {
  for (const [actionId, kind] of [
    [ACTION.idleDisable, 'disable'],
    [ACTION.idleDelete, 'delete'],
  ] as const) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      const target = targetOf(deps, action);
      if (!target) return tell(deps, client, body, ':warning: This button is from an alert this version cannot read; run `/smtp list` instead.');
      try {
        await openAccountModal(deps, client, body.trigger_id, kind, target.name, clickerFor(deps, client, body, target), originOf(body));
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
      } catch (err) {
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
        await tell(deps, client, body, `:no_entry_sign: ${explainFailure(deps, err, { op: `idle.${kind}`, user: body.user.id })}`);
      }
    });
  }

  app.action<BlockAction<ButtonAction>>(ACTION.idleKeep, async ({ ack, body, action, client }) => {
    await ack();
    const target = targetOf(deps, action);
    if (!target) return tell(deps, client, body, ':warning: This button is from an alert this version cannot read; run `/smtp list` instead.');
    let resolved: ResolvedActor | undefined;
    try {
      resolved = await clickerFor(deps, client, body, target)();
      const kept = await keepIdleAccount(deps.ctx, resolved.actor, resolved.workspace.id, target.name, deps.config.jobs.idleSnoozeDays);
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
      const until = kept.idleSnoozedUntil ? formatDate(kept.idleSnoozedUntil) : '?';
      await markAlert(deps, client, body, target, `:zzz: <@${body.user.id}> kept this account: left out of idle alerts until ${until}.`);
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
      await tell(deps, client, body, `:no_entry_sign: ${explainFailure(deps, err, { op: 'idle.keep', user: body.user.id, workspace: resolved?.workspace })}`);
    }
  });
}

/** Replaces the account's buttons in the alert with what was done, for everyone reading the channel. */
async function markAlert(deps: SlackDeps, client: WebClient, body: BlockAction, target: IdleButtonValue, outcome: string): Promise<void> {
  const channel = body.channel?.id ?? body.container?.channel_id;
  const message = body.message as { ts?: string; text?: string; blocks?: Block[] } | undefined;
  if (!channel || !message?.ts || !Array.isArray(message.blocks)) return;
  try {
    await client.chat.update({ channel, ts: message.ts, text: message.text ?? 'Idle SMTP accounts', blocks: idleAlertAfterAction(message.blocks, target.accountId, outcome) });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ALERT_UPDATE_FAILED', err: slackErrorSummary(err) }, 'could not update the idle alert after Keep');
  }
}
