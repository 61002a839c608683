// The buttons on the reputation warning. *Pause now* disables the account at once with reason `reputation`
// (admins and responders; the domain checks). *Expected* keeps the guard from pausing it until its rates fall
// back under the warn level. Either way the warning's buttons become a line saying who did what.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError, disableAccount, markReputationExpected } from '../../domain/index.ts';
import { slackErrorSummary, type ResolvedActor } from '../actor.ts';
import type { Block } from '../blocks/common.ts';
import { decodeReputationButton, reputationAlertAfterAction, type ReputationButtonValue } from '../blocks/reputation-alert.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION } from '../ids.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { actorOf } from './home-actions.ts';

async function tell(deps: SlackDeps, client: WebClient, body: BlockAction, text: string): Promise<void> {
  try {
    await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id, responseUrl: body.response_url }, { text });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(err) }, 'could not tell the user about a reputation-alert action');
  }
}

async function markAlert(deps: SlackDeps, client: WebClient, body: BlockAction, target: ReputationButtonValue, outcome: string): Promise<void> {
  const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
  const message = body.message as { ts?: string; text?: string; blocks?: Block[] } | undefined;
  if (!channel || !message?.ts || !Array.isArray(message.blocks)) return;
  try {
    await client.chat.update({
      channel,
      ts: message.ts,
      text: message.text ?? 'Delivery reputation',
      blocks: reputationAlertAfterAction(message.blocks, target.accountId, outcome),
    });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ALERT_UPDATE_FAILED', err: slackErrorSummary(err) }, 'could not update the reputation alert');
  }
}

export function registerReputationAlertActions(app: App, deps: SlackDeps): void {
  const listen = (actionId: string, op: string, act: (r: ResolvedActor, target: ReputationButtonValue, body: BlockAction) => Promise<string>) =>
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      const target = decodeReputationButton(action.value);
      if (!target) {
        deps.log.warn({ code: 'SLACK_JOB_ALERT_BAD_VALUE', actionId }, 'reputation-alert button without a readable value');
        return tell(deps, client, body, ':warning: This button is from an alert this version cannot read; use `/smtp disable NAME` instead.');
      }
      let resolved: ResolvedActor | undefined;
      try {
        resolved = await actorOf(deps, client, body)();
        if (resolved.workspace.id !== target.workspaceId)
          throw new DomainError('PERMISSION.DENIED', 'This alert belongs to another workspace.', { workspaceId: target.workspaceId });
        const outcome = await act(resolved, target, body);
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
        deps.log.info({ code: 'SLACK_ACTION', action: op, user: body.user.id }, `button ${op}`);
        await markAlert(deps, client, body, target, outcome);
      } catch (err) {
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
        await tell(deps, client, body, `:no_entry_sign: ${explainFailure(deps, err, { op, user: body.user.id, workspace: resolved?.workspace })}`);
      }
    });

  listen(ACTION.reputationPause, 'reputation.pause', async (r, target, body) => {
    await disableAccount(deps.ctx, r.actor, r.workspace.id, target.name, 'reputation', 'reputation warning: paused from Slack');
    return `:double_vertical_bar: <@${body.user.id}> paused this account. \`${deps.config.slack.command} enable ${target.name}\` resumes it.`;
  });

  listen(ACTION.reputationExpected, 'reputation.expected', async (r, target, body) => {
    await markReputationExpected({ ctx: deps.ctx, flags: deps.reputation.flags }, r.actor, r.workspace.id, target.name);
    return `:ok_hand: <@${body.user.id}> marked this as expected: the guard will not pause it until its rates recover.`;
  });
}
