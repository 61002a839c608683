// Durable acceptance of one message: our headers in front of the body, then the group commit (commit.ts),
// which answers only once the message is stored (majority, journaled) and counted.
import type { SmtpPrincipal } from '../domain/index.ts';
import type { NewQueuedMessage } from '../store/queue/index.ts';
import type { CollectedBody } from './body-collector.ts';
import type { RelayDeps } from './deps.ts';

/** What accepting a message uses of the relay's deps. */
export type AcceptMessageDeps = Pick<RelayDeps, 'acceptedHours' | 'commits' | 'ctx' | 'relayHost' | 'settings'>;

export { StoreUnavailable } from './commit.ts';

export interface IncomingMessage {
  /** Queue id chosen when DATA began (a large body's chunks are stored under it as they arrive). */
  id: string;
  principal: SmtpPrincipal;
  from: string;
  to: string[];
  /** As received (after dot-unstuffing), without our Received header. */
  body: CollectedBody;
  messageId?: string;
  subject?: string;
  hasDate: boolean;
  clientIp: string;
  /** What the client said in EHLO/HELO (only for the Received header). */
  heloName: string;
  secure: boolean;
}

export async function acceptMessage(deps: AcceptMessageDeps, msg: IncomingMessage): Promise<string> {
  const at = deps.ctx.clock();
  const added = deps.settings.addMissingHeaders ? missingHeaders(deps, msg, at) : { text: '' };
  const prefix = Buffer.from(receivedHeader(deps, msg, at) + added.text, 'latin1');
  const p = msg.principal;
  const message: NewQueuedMessage = {
    id: msg.id,
    workspaceId: p.workspaceId,
    accountId: p.accountId,
    username: p.username,
    from: msg.from,
    to: msg.to,
    head: prefix,
    chunks: msg.body.chunks,
    size: prefix.length + msg.body.size,
    clientIp: msg.clientIp,
    relayHost: deps.relayHost,
    at,
  };
  if (msg.body.inline) message.body = msg.body.inline;
  const messageId = msg.messageId ?? added.messageId;
  if (messageId) message.messageId = messageId;
  if (msg.subject) message.subject = msg.subject;
  await deps.commits.submit({ principal: p, message });
  deps.acceptedHours.add(p, msg.to.length, msg.clientIp, at);
  return msg.id;
}

/**
 * RFC 6409 section 8: a submission server may add the Message-ID and Date a message lacks. Scripts that write
 * raw SMTP often leave them out, and large mailbox providers refuse mail without a Message-ID.
 */
function missingHeaders(deps: AcceptMessageDeps, msg: IncomingMessage, at: Date): { text: string; messageId?: string } {
  const messageId = msg.messageId === undefined ? `<${msg.id}@${deps.settings.hostname}>` : undefined;
  const text = (messageId ? `Message-ID: ${messageId}\r\n` : '') + (msg.hasDate ? '' : `Date: ${rfc5322Date(at)}\r\n`);
  return messageId ? { text, messageId } : { text };
}

function rfc5322Date(at: Date): string {
  return at.toUTCString().replace('GMT', '+0000');
}

function receivedHeader(deps: AcceptMessageDeps, msg: IncomingMessage, at: Date): string {
  const proto = msg.secure ? 'ESMTPSA' : 'ESMTPA';
  const helo = (msg.heloName || 'unknown').replace(/[^\w.:[\]-]/g, '').slice(0, 255);
  // RFC 5321 address literals: [192.0.2.1], and [IPv6:2001:db8::1] for IPv6.
  const literal = msg.clientIp.includes(':') ? `IPv6:${msg.clientIp}` : msg.clientIp;
  return `Received: from ${helo} ([${literal}])\r\n\tby ${deps.settings.hostname} (smtpdesk) with ${proto} id ${msg.id};\r\n\t${rfc5322Date(at)}\r\n`;
}
