// "Where is my email" in Slack: each message found, newest first, and for each recipient its account,
// status, attempts, the next hop's last answer, times, and any later bounce or complaint.
import type { TraceResult, TracedMessage, TracedRecipient } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { contextLine, esc, linesToSections, section, type Block } from './common.ts';

const STATUS_ICON: Record<TracedRecipient['status'], string> = {
  queued: ':hourglass_flowing_sand:',
  delivered: ':white_check_mark:',
  bounced: ':x:',
  failed: ':x:',
};

const STATUS_WORD: Record<TracedRecipient['status'], string> = { queued: 'Queued', delivered: 'Delivered', bounced: 'Bounced', failed: 'Failed' };

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** What arrived later (DSN bounce, complaint), whatever shape it was recorded in: "key: value" pairs. */
export function laterText(later: Record<string, unknown> | undefined): string | undefined {
  if (!later) return undefined;
  const parts = Object.entries(later).map(([k, v]) => `${k}: ${v instanceof Date ? formatDateTime(v) : typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? clip(parts.join('; ')) : undefined;
}

export function recipientLine(r: TracedRecipient): string {
  const answer = r.status === 'delivered' ? r.response : (r.lastError ?? r.response);
  const times = [r.lastAttemptAt ? `last try ${formatDateTime(r.lastAttemptAt)}` : undefined, r.finishedAt ? `finished ${formatDateTime(r.finishedAt)}` : undefined]
    .filter(Boolean)
    .join(' · ');
  const later = laterText(r.later);
  return [
    `${STATUS_ICON[r.status]} \`${esc(r.address)}\` *${STATUS_WORD[r.status]}* · ${r.attempts} attempt(s)${times ? ` · ${times}` : ''}`,
    answer ? `      next hop: _${esc(clip(answer))}_` : undefined,
    later ? `      later: ${esc(later)}` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
}

function messageLines(m: TracedMessage): string {
  const account = m.accountName ? `*${esc(m.accountName)}*` : `\`${m.username}\` (deleted account)`;
  const head = `${account} · accepted ${formatDateTime(m.createdAt)} · queue id \`${m.id}\`${m.messageId ? ` · ${esc(clip(m.messageId, 120))}` : ''}${m.subject ? `\n“${esc(clip(m.subject, 120))}”` : ''}`;
  return [head, ...m.recipients.map(recipientLine)].join('\n');
}

export function traceBlocks(t: TraceResult, opts: { command: string }): { text: string; blocks: Block[] } {
  const what = t.kind === 'recipient' ? `mail to \`${esc(t.value)}\`` : t.kind === 'message-id' ? `Message-ID \`${esc(t.value)}\`` : `queue id \`${t.value}\``;
  if (t.messages.length === 0) {
    return {
      text: `Nothing found for ${t.value}`,
      blocks: [
        section(
          `:mag: No message with ${what} in this workspace's queue. Messages are kept for the retention period; check the address or try \`${opts.command} trace <Message-ID>\`.`,
        ),
      ],
    };
  }
  return {
    text: `${t.messages.length} message(s) with ${t.value}`,
    blocks: [
      section(`:mag: *${t.messages.length} message(s)* with ${what}, newest first:`),
      ...linesToSections(t.messages.map(messageLines), '\n\n').slice(0, 45),
      contextLine('Only this workspace’s mail is searched. “next hop” is what the receiving server (or smarthost) last answered.'),
    ],
  };
}
