// The buttons on the surge alert. *Disable now* disables at once, without a modal: the alert already says
// why, and seconds count (admins and responders; the domain checks). *Expected* snoozes the alerted signals
// of the account for SURGE_SNOOZE_HOURS. Either way the alert's buttons become a line saying who did what.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError, disableAccount, snoozeSurgeSignals } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { slackErrorSummary, type ResolvedActor } from '../actor.ts';
import type { Block } from '../blocks/common.ts';
import { decodeSurgeButton, surgeAlertAfterAction, type SurgeButtonValue } from '../blocks/surge-alert.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION } from '../ids.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { actorOf } from './home-actions.ts';

async function tell(deps: SlackDeps, client: WebClient, body: BlockAction, text: string): Promise<void> {
  try {
    await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id, responseUrl: body.response_url }, { text });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(err) }, 'could not tell the user about a surge-alert action');
  }
}

async function clicker(deps: SlackDeps, client: WebClient, body: BlockAction, target: SurgeButtonValue): Promise<ResolvedActor> {
  const resolved = await actorOf(deps, client, body)();
  if (resolved.workspace.id !== target.workspaceId) {
    throw new DomainError('PERMISSION.DENIED', 'This alert belongs to another workspace.', { workspaceId: target.workspaceId });
  }
  return resolved;
}

async function markAlert(deps: SlackDeps, client: WebClient, body: BlockAction, target: SurgeButtonValue, outcome: string): Promise<void> {
  const channel = body.channel?.id ?? body.container?.channel_id;
  const message = body.message as { ts?: string; text?: string; blocks?: Block[] } | undefined;
  if (!channel || !message?.ts || !Array.isArray(message.blocks)) return;
  try {
    await client.chat.update({ channel, ts: message.ts, text: message.text ?? 'Unusual sending', blocks: surgeAlertAfterAction(message.blocks, target.accountId, outcome) });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ALERT_UPDATE_FAILED', err: slackErrorSummary(err) }, 'could not update the surge alert');
  }
}

export function registerSurgeAlertActions(app: App, deps: SlackDeps): void {
  const listen = (actionId: string, op: string, act: (r: ResolvedActor, target: SurgeButtonValue, body: BlockAction) => Promise<string>) =>
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      const target = decodeSurgeButton(action.value);
      if (!target) {
        deps.log.warn({ code: 'SLACK_JOB_ALERT_BAD_VALUE', actionId }, 'surge-alert button without a readable value');
        return tell(deps, client, body, ':warning: This button is from an alert this version cannot read; use `/smtp disable NAME` instead.');
      }
      let resolved: ResolvedActor | undefined;
      try {
        resolved = await clicker(deps, client, body, target);
        const outcome = await act(resolved, target, body);
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
        deps.log.info({ code: 'SLACK_ACTION', action: op, user: body.user.id }, `button ${op}`);
        await markAlert(deps, client, body, target, outcome);
      } catch (err) {
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
        await tell(deps, client, body, `:no_entry_sign: ${explainFailure(deps, err, { op, user: body.user.id, workspace: resolved?.workspace })}`);
      }
    });

  listen(ACTION.surgeDisable, 'surge.disable', async (r, target, body) => {
    await disableAccount(deps.ctx, r.actor, r.workspace.id, target.name, 'suspected_compromise', `surge alert: ${target.signals.join(', ')}`);
    return `:no_entry: <@${body.user.id}> disabled this account: every password of it stopped working. \`${deps.config.slack.command} enable ${target.name}\` restores it.`;
  });

  listen(ACTION.surgeExpected, 'surge.expected', async (r, target, body) => {
    const { until } = await snoozeSurgeSignals(deps.ctx, r.actor, r.workspace.id, target.name, target.signals, deps.config.jobs.surge.snoozeHours);
    return `:ok_hand: <@${body.user.id}> marked this as expected: no ${target.signals.join(', ')} alert for it until ${formatDateTime(until)}.`;
  });
}
