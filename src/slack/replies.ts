// Answers to the user: errors turned into words (and a log line with a stable code), and messages only the
// requester sees (ephemeral in the channel, else through the command's response_url, else in their DM).
import type { WebClient } from '@slack/web-api';
import { isDomainError, type Role, type Workspace } from '../domain/index.ts';
import { mentionHolders, slackErrorSummary } from './actor.ts';
import type { Block } from './blocks/common.ts';
import type { SlackDeps } from './deps.ts';

export interface ReplyTarget {
  userId: string;
  /** The channel the request came from (slash command); absent for App Home. */
  channelId?: string;
  /** The slash command's response_url (valid 30 minutes, 5 uses). */
  responseUrl?: string;
}

export interface Message {
  text: string;
  blocks?: Block[];
}

/**
 * What to tell the user about a failure, and the log line for it. Domain refusals are expected (info, with the
 * domain's code); anything else is logged as an error with SLACK_REQUEST_FAILED and the user gets a short
 * apology with that code, never a stack trace.
 */
export function explainFailure(deps: SlackDeps, err: unknown, where: { op: string; user?: string; workspace?: Workspace }): string {
  if (isDomainError(err)) {
    deps.log.info({ code: 'SLACK_REFUSED', domainCode: err.code, op: where.op, user: where.user }, err.message);
    if (err.code === 'PERMISSION.DENIED' && where.workspace) {
      const allowed = (err.details.allowedRoles as readonly Role[] | undefined) ?? [];
      const who = allowed
        .map((r) => mentionHolders(deps.directory.holders(where.workspace!, r)))
        .filter(Boolean)
        .join(', ');
      return who ? `${err.message} Ask ${who}.` : `${err.message} No one holds that role yet: an operator sets SLACK_ADMIN_USERS or runs \`smtpdesk workspace set --admins\`.`;
    }
    return err.message;
  }
  deps.log.error({ code: 'SLACK_REQUEST_FAILED', op: where.op, user: where.user, err: safeError(err) }, 'Slack request failed');
  return 'Something went wrong on our side (code SLACK_REQUEST_FAILED). Try again in a minute; if it keeps failing, ask an operator to check the smtpdesk logs.';
}

/** An error for a log line without request data (Web API errors can carry the message we tried to send). */
export function safeError(err: unknown): Record<string, unknown> {
  if (err && typeof err === 'object' && ('data' in err || 'original' in err)) return slackErrorSummary(err);
  if (err instanceof Error) return { type: err.name, message: err.message, stack: err.stack };
  return { message: String(err) };
}

/** Posts to a response_url (ephemeral unless told otherwise). */
export async function postToResponseUrl(url: string, body: Message & { response_type?: 'ephemeral' | 'in_channel'; replace_original?: boolean }): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', ...body }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`response_url answered ${res.status}`);
}

/**
 * A message only `target.userId` sees. Tries, in order: ephemeral in the request's channel, the response_url,
 * ephemeral in the user's DM with the app. Returns where it went; throws when every way failed.
 */
export async function sendPrivately(deps: SlackDeps, client: WebClient, target: ReplyTarget, msg: Message): Promise<'channel' | 'response_url' | 'dm'> {
  const failures: unknown[] = [];
  if (target.channelId) {
    try {
      await client.chat.postEphemeral({ channel: target.channelId, user: target.userId, text: msg.text, blocks: msg.blocks });
      return 'channel';
    } catch (err) {
      failures.push(err);
    }
  }
  if (target.responseUrl) {
    try {
      await postToResponseUrl(target.responseUrl, msg);
      return 'response_url';
    } catch (err) {
      failures.push(err);
    }
  }
  try {
    await postEphemeralInDm(client, target.userId, msg);
    return 'dm';
  } catch (err) {
    failures.push(err);
  }
  deps.log.warn({ code: 'SLACK_PRIVATE_REPLY_FAILED', user: target.userId, errors: failures.map(slackErrorSummary) }, 'could not reach the user privately');
  throw new Error('could not deliver a private message');
}

/** An ephemeral message in the user's DM with the app (conversations.open, then chat.postEphemeral there). */
export async function postEphemeralInDm(client: WebClient, userId: string, msg: Message): Promise<string> {
  const im = await client.conversations.open({ users: userId });
  const channel = im.channel?.id;
  if (!channel) throw new Error('conversations.open gave no channel');
  await client.chat.postEphemeral({ channel, user: userId, text: msg.text, blocks: msg.blocks });
  return channel;
}

/**
 * A message without secrets for the requester where the request came from: ephemeral in its channel, else its
 * response_url. Never the DM (the caller has just written there). False when neither way worked or there is none.
 */
export async function tellWhereAsked(deps: SlackDeps, client: WebClient, target: ReplyTarget, msg: Message): Promise<boolean> {
  if (target.channelId) {
    try {
      await client.chat.postEphemeral({ channel: target.channelId, user: target.userId, text: msg.text, blocks: msg.blocks });
      return true;
    } catch (err) {
      deps.log.debug({ code: 'SLACK_POINTER_FALLBACK', err: slackErrorSummary(err) }, 'ephemeral in the channel refused; trying the response_url');
    }
  }
  if (target.responseUrl) {
    try {
      await postToResponseUrl(target.responseUrl, msg);
      return true;
    } catch {
      return false;
    }
  }
  return false;
}
