// "Did my email to X go out?": the queue searched by recipient, Message-ID or queue id, within the
// workspace only, newest first. Slack (`/smtp trace`) and the CLI (`smtpdesk queue find`) call this.
import type { Actor } from './actor.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import { authorize } from './permissions.ts';
import type { TraceKind, TracedMessage } from './trace-model.ts';

export type { MessageSearch, MessageSearchQuery, TraceKind, TracedMessage, TracedRecipient } from './trace-model.ts';

const QUERY_MAX = 320;

/**
 * What the user typed, as a lookup: a queue id (24 hex digits), a Message-ID (`<local@host>`, brackets
 * optional when it is not an address), or a recipient address. Null when it is none of them.
 */
export function parseTraceQuery(input: string): { kind: TraceKind; value: string } | null {
  const q = input.trim();
  if (!q || q.length > QUERY_MAX || /\s/.test(q) || [...q].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return null;
  if (/^[a-f0-9]{24}$/i.test(q)) return { kind: 'queue-id', value: q.toLowerCase() };
  // Slack turns an address into <mailto:a@b|a@b>.
  const mailto = /^<mailto:([^|>]+)(?:\|[^>]*)?>$/i.exec(q);
  if (mailto) return parseTraceQuery(mailto[1]!);
  if (/^<[^<>]+@[^<>]+>$/.test(q)) return { kind: 'message-id', value: q };
  if (/^[^@<>"\s]+@[a-z0-9.-]+\.[a-z0-9-]+$/i.test(q)) return { kind: 'recipient', value: q.toLowerCase() };
  if (/^[^<>@\s]+@[^<>@\s]+$/.test(q)) return { kind: 'message-id', value: `<${q}>` };
  return null;
}

/** "7d", "12h", "30m", "2w": how far back to look. Null when malformed. */
export function parseSince(input: string): number | null {
  const m = /^(\d{1,4})\s*([mhdw])$/i.exec(input.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2]!.toLowerCase() as 'm' | 'h' | 'd' | 'w'];
  return n > 0 ? n * unit : null;
}

export interface TraceResult {
  kind: TraceKind;
  value: string;
  messages: TracedMessage[];
}

export async function traceMail(ctx: DomainContext, actor: Actor, workspaceId: string, query: string, opts: { sinceMs?: number; limit?: number } = {}): Promise<TraceResult> {
  authorize(actor, 'mail.trace');
  let parsed = parseTraceQuery(query);
  if (!parsed) {
    throw new DomainError('INPUT.INVALID', 'Trace a recipient address (someone@example.com), a Message-ID (<id@host>) or a queue id (24 hex digits).', {
      query: query.slice(0, 80),
    });
  }
  const limit = Math.min(Math.max(Math.floor(opts.limit ?? 20), 1), 200);
  const since = opts.sinceMs !== undefined ? new Date(ctx.clock().getTime() - opts.sinceMs) : undefined;
  let found = await ctx.messageSearch.find({ workspaceId, ...parsed, since, limit });
  // A Message-ID typed without its brackets reads like an address: when no recipient matches, try it as one.
  if (found.length === 0 && parsed.kind === 'recipient') {
    const asMessageId = { kind: 'message-id' as const, value: `<${query.trim()}>` };
    const byId = await ctx.messageSearch.find({ workspaceId, ...asMessageId, since, limit });
    if (byId.length) [parsed, found] = [asMessageId, byId];
  }
  // For an address, only that recipient of each message: the others are not what was asked about.
  const messages = parsed.kind === 'recipient' ? found.map((m) => ({ ...m, recipients: m.recipients.filter((r) => r.address.toLowerCase() === parsed.value) })) : found;
  if (messages.length === 0) return { ...parsed, messages };
  const names = new Map((await ctx.accounts.listByWorkspace(workspaceId)).map((a) => [a.id, a.name]));
  return {
    ...parsed,
    messages: messages.map((m) => {
      const name = names.get(m.accountId);
      return name ? { ...m, accountName: name } : m;
    }),
  };
}
