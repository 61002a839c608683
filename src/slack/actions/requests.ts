// Approve and Deny on a request's card. Roles are checked again on every click (the domain: an admin, not the
// requester); a click on a request already decided, here or on another instance, is told who decided.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { decideRequest } from '../../domain/index.ts';
import type { ResolvedActor } from '../actor.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION } from '../ids.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { announceDecision } from '../requests.ts';
import { actorOf } from './home-actions.ts';

export function registerRequestActions(app: App, deps: SlackDeps): void {
  for (const [actionId, decision] of [
    [ACTION.requestApprove, 'approve'],
    [ACTION.requestDeny, 'deny'],
  ] as const) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      let resolved: ResolvedActor | undefined;
      try {
        resolved = await actorOf(deps, client, body)();
        const decided = await decideRequest(deps.ctx, resolved.actor, resolved.workspace.id, action.value ?? '', decision);
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
        deps.log.info({ code: 'SLACK_ACTION', action: `request.${decision}`, user: body.user.id, request: decided.request.id }, `request ${decided.request.status}`);
        await announceDecision(deps, client, decided, { channel: body.channel?.id, ts: body.message?.ts });
      } catch (err) {
        deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
        const text = explainFailure(deps, err, { op: `request.${decision}`, user: body.user.id, workspace: resolved?.workspace });
        try {
          await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id, responseUrl: body.response_url }, { text: `:no_entry_sign: ${text}` });
        } catch (e) {
          deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(e) }, 'could not tell the user about a request decision');
        }
      }
    });
  }
}
