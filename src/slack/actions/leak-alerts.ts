// The button of the leaked-credential alerts that no other message has: *Expected* on a network-refusal alert
// (no such alert for the account for 7 days; admins and responders, the domain checks). Rotate and Disable on
// these alerts are the ordinary account buttons (home-actions.ts): they open the same modals.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError, expectNetworkRefusals } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { slackErrorSummary } from '../actor.ts';
import { contextLine, type Block } from '../blocks/common.ts';
import { decodeAccountButton, LEAK_ACTION, LEAK_BLOCK } from '../blocks/leak-alerts.ts';
import type { SlackDeps } from '../deps.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { actorOf } from './home-actions.ts';

async function tell(deps: SlackDeps, client: WebClient, body: BlockAction, text: string): Promise<void> {
  try {
    await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id, responseUrl: body.response_url }, { text });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(err) }, 'could not tell the user about a leak-alert action');
  }
}

export function registerLeakAlertActions(app: App, deps: SlackDeps): void {
  app.action<BlockAction<ButtonAction>>(LEAK_ACTION.networkExpected, async ({ ack, body, action, client }) => {
    await ack();
    const target = decodeAccountButton(action.value);
    if (!target) return tell(deps, client, body, ':warning: This button is from an alert this version cannot read.');
    try {
      const resolved = await actorOf(deps, client, body)();
      if (resolved.workspace.id !== target.workspaceId) throw new DomainError('PERMISSION.DENIED', 'This alert belongs to another workspace.');
      const { until } = await expectNetworkRefusals(deps.ctx, resolved.actor, resolved.workspace.id, target.name);
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
      deps.log.info({ code: 'SLACK_ACTION', action: 'network.expected', user: body.user.id }, 'button network.expected');
      const outcome = `:ok_hand: <@${body.user.id}> marked this as expected: no such alert for ${target.name} until ${formatDateTime(until)} (AUTH from outside its networks is still refused).`;
      const channel = body.channel?.id;
      const message = body.message as { ts?: string; text?: string; blocks?: Block[] } | undefined;
      if (channel && message?.ts && Array.isArray(message.blocks)) {
        const id = `${LEAK_BLOCK.networkActionsPrefix}${target.accountId}`;
        const blocks = message.blocks.map((b) => (b.block_id === id ? { ...contextLine(outcome), block_id: id } : b));
        await client.chat.update({ channel, ts: message.ts, text: message.text ?? 'Network refusals', blocks }).catch((err: unknown) => {
          deps.log.warn({ code: 'SLACK_ALERT_UPDATE_FAILED', err: slackErrorSummary(err) }, 'could not update the network-refusal alert');
        });
      }
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
      await tell(deps, client, body, `:no_entry_sign: ${explainFailure(deps, err, { op: 'network.expected', user: body.user.id })}`);
    }
  });
}
