// Request and approve, the Slack side: a filed request becomes a card in the approvals channel; a decision
// (src/slack/actions/requests.ts) updates the card for everyone, without buttons, and tells the requester in
// their DM, where an approved account's password goes, as for create, and nowhere else.
import type { WebClient } from '@slack/web-api';
import { attachRequestCard, type AccountRequest, type RequestDecision } from '../domain/index.ts';
import { slackErrorSummary } from './actor.ts';
import { credentialsBlocks } from './blocks/accounts.ts';
import { esc } from './blocks/common.ts';
import { decidedCard, requestCard } from './blocks/requests.ts';
import type { SlackDeps } from './deps.ts';
import { postEphemeralInDm } from './replies.ts';

/** Posts the request's card; returns a line for the requester saying where it waits. */
export async function postRequestCard(deps: SlackDeps, client: WebClient, request: AccountRequest, channel: string): Promise<string> {
  const card = requestCard(request);
  try {
    const res = await client.chat.postMessage({ channel, text: card.text, blocks: card.blocks, unfurl_links: false });
    if (res.ts) await attachRequestCard(deps.ctx, request.id, { channel: res.channel ?? channel, ts: res.ts });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_REQUEST_CARD_FAILED', request: request.id, err: slackErrorSummary(err) }, 'could not post a request to the approvals channel');
    return `:warning: Your request for *${esc(request.accountName)}* is saved, but it could not be posted in <#${channel}> (invite the app there): ask an admin to look at it.`;
  }
  deps.log.info({ code: 'SLACK_REQUEST_FILED', request: request.id, kind: request.kind, user: request.requestedBy.id }, 'account request filed');
  const what = request.kind === 'create' ? `a new account *${esc(request.accountName)}*` : `deleting *${esc(request.accountName)}*`;
  return `:inbox_tray: Your request for ${what} waits for an admin in <#${channel}>.${request.kind === 'create' ? ' Once approved, the password comes to you alone, in your messages with this app.' : ''}`;
}

/** After a decision: the card shows the outcome, and the requester hears of it (with the password, if created). */
export async function announceDecision(deps: SlackDeps, client: WebClient, d: RequestDecision, where: { channel?: string; ts?: string }): Promise<void> {
  const r = d.request;
  const channel = where.channel ?? r.card?.channel;
  const ts = where.ts ?? r.card?.ts;
  if (channel && ts) {
    const card = decidedCard(r);
    await client.chat.update({ channel, ts, text: card.text, blocks: card.blocks }).catch((err: unknown) => {
      deps.log.warn({ code: 'SLACK_ALERT_UPDATE_FAILED', request: r.id, err: slackErrorSummary(err) }, 'could not update a request card');
    });
  }
  if (r.requestedBy.source !== 'slack') return;
  const requester = r.requestedBy.id;
  const message = d.issued
    ? credentialsBlocks(d.issued, 'created')
    : { text: `Your request about *${esc(r.accountName)}* was ${r.status === 'failed' ? `approved, but could not be done: ${esc(r.outcome ?? '')}` : r.status}.` };
  try {
    await postEphemeralInDm(client, requester, message);
  } catch (err) {
    deps.log.warn({ code: 'SLACK_PRIVATE_REPLY_FAILED', user: requester, errors: [slackErrorSummary(err)] }, 'could not tell the requester about a decision');
  }
}
