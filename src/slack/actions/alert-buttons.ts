// The buttons on an account alert in the alert channel (surge, reputation): one way to handle a click. The
// button's value is decoded (a value this version cannot read gets a private hint), the clicker resolved and
// checked to be of the alert's workspace, the action run through the domain (which checks the role), and the
// alert's buttons replaced by a line saying who did what; a refusal is told to the clicker privately.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError } from '../../domain/index.ts';
import { slackErrorSummary, type ResolvedActor } from '../actor.ts';
import type { Block } from '../blocks/common.ts';
import type { SlackDeps } from '../deps.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { actorOf } from './home-actions.ts';

export interface AlertButtonTarget {
  workspaceId: string;
  accountId: string;
  name: string;
}

export interface AlertButtons<T extends AlertButtonTarget> {
  /** For logs: "surge", "reputation". */
  kind: string;
  decode(value: string | undefined): T | null;
  /** The alert's blocks once acted on: the account's buttons replaced by the outcome line. */
  afterAction(blocks: Block[], accountId: string, outcome: string): Block[];
  /** The alert's text if the message carries none. */
  fallbackText: string;
}

/** Tells the clicker privately (ephemeral in the channel, else a DM, else the response URL). */
async function tell(deps: SlackDeps, client: WebClient, body: BlockAction, text: string, kind: string): Promise<void> {
  try {
    await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id, responseUrl: body.response_url }, { text });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(err) }, `could not tell the user about a ${kind}-alert action`);
  }
}

async function markAlert<T extends AlertButtonTarget>(deps: SlackDeps, client: WebClient, body: BlockAction, spec: AlertButtons<T>, target: T, outcome: string): Promise<void> {
  const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
  const message = body.message as { ts?: string; text?: string; blocks?: Block[] } | undefined;
  if (!channel || !message?.ts || !Array.isArray(message.blocks)) return;
  try {
    await client.chat.update({ channel, ts: message.ts, text: message.text ?? spec.fallbackText, blocks: spec.afterAction(message.blocks, target.accountId, outcome) });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_ALERT_UPDATE_FAILED', err: slackErrorSummary(err) }, `could not update the ${spec.kind} alert`);
  }
}

/** Registers one button of the alert: `act` does it and returns the line that replaces the buttons. */
export function alertButtonListener<T extends AlertButtonTarget>(app: App, deps: SlackDeps, spec: AlertButtons<T>) {
  return (actionId: string, op: string, act: (r: ResolvedActor, target: T, body: BlockAction) => Promise<string>) =>
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      const target = spec.decode(action.value);
      if (!target) {
        deps.log.warn({ code: 'SLACK_JOB_ALERT_BAD_VALUE', actionId }, `${spec.kind}-alert button without a readable value`);
        return tell(deps, client, body, ':warning: This button is from an alert this version cannot read; use `/smtp disable NAME` instead.', spec.kind);
      }
      let resolved: ResolvedActor | undefined;
      try {
        resolved = await actorOf(deps, client, body)();
        if (resolved.workspace.id !== target.workspaceId)
          throw new DomainError('PERMISSION.DENIED', 'This alert belongs to another workspace.', { workspaceId: target.workspaceId });
        const outcome = await act(resolved, target, body);
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
        deps.log.info({ code: 'SLACK_ACTION', action: op, user: body.user.id }, `button ${op}`);
        await markAlert(deps, client, body, spec, target, outcome);
      } catch (err) {
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
        await tell(deps, client, body, `:no_entry_sign: ${explainFailure(deps, err, { op, user: body.user.id, workspace: resolved?.workspace })}`, spec.kind);
      }
    });
}
