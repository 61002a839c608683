// Reads what arrives at a return path: a delivery status notification (RFC 3464: multipart/report with a
// message/delivery-status part, one field group per recipient) or an abuse feedback report (RFC 5965:
// multipart/report with a message/feedback-report part), and the original message's Message-ID from the
// returned message or headers (the fallback match when the return path cannot be used). MIME is mailparser's
// job; only the report parts' own field syntax (RFC 822-style groups) is read here. Pure and bounded: a hostile
// report yields 'unknown' or fewer entries, never a throw.
import { simpleParser, type Attachment } from 'mailparser';
import type { DeliveryKind, DeliveryReport as ParsedReport, RecipientStatus } from '../domain/index.ts';

export type { DeliveryReport as ParsedReport } from '../domain/index.ts';

const MAX_GROUPS = 1000;
const MAX_FIELD = 1000;

/** RFC 822-style field groups separated by blank lines (folded lines unfolded); names lower-cased. */
export function parseFieldGroups(text: string): Map<string, string[]>[] {
  const groups: Map<string, string[]>[] = [];
  let current = new Map<string, string[]>();
  let last: { name: string; index: number } | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (current.size) groups.push(current);
      current = new Map();
      last = null;
      if (groups.length >= MAX_GROUPS) break;
      continue;
    }
    if (/^[ \t]/.test(line) && last) {
      const values = current.get(last.name)!;
      values[last.index] = `${values[last.index]} ${line.trim()}`.slice(0, MAX_FIELD);
      continue;
    }
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (!m) {
      last = null;
      continue;
    }
    const name = m[1]!.toLowerCase();
    const values = current.get(name) ?? [];
    values.push(m[2]!.trim().slice(0, MAX_FIELD));
    current.set(name, values);
    last = { name, index: values.length - 1 };
  }
  if (current.size && groups.length < MAX_GROUPS) groups.push(current);
  return groups;
}

/** "rfc822; user@example.com" -> "user@example.com" (null for another address type or no address). */
export function typedAddress(value: string | undefined): string | null {
  if (!value) return null;
  const m = /^\s*([^;\s]+)\s*;\s*<?([^<>\s;]+@[^<>\s;]+?)>?\s*$/.exec(value);
  if (!m || m[1]!.toLowerCase() !== 'rfc822') return null;
  return m[2]!;
}

const STATUS = /^([245])\.(\d{1,3})\.(\d{1,3})/;

export function deliveryKind(action: string, status: string): DeliveryKind | null {
  const a = action.toLowerCase();
  if (a === 'failed') return 'permanent';
  if (a === 'delayed') return 'transient';
  if (a === 'delivered' || a === 'relayed' || a === 'expanded') return 'delivered';
  // An unknown action: the status class decides.
  const cls = STATUS.exec(status)?.[1];
  return cls === '5' ? 'permanent' : cls === '4' ? 'transient' : cls === '2' ? 'delivered' : null;
}

/** The Message-ID in a returned header block, angle brackets included, or undefined. */
export function messageIdOf(headers: string): string | undefined {
  const head = headers.replace(/\r\n?/g, '\n').split('\n\n')[0] ?? '';
  for (const group of parseFieldGroups(head)) {
    const id = group.get('message-id')?.[0];
    const m = id ? /<[^<>\s]{1,500}>/.exec(id) : null;
    if (m) return m[0];
  }
  return undefined;
}

function dsnOf(part: Attachment, originalMessageId: string | undefined): ParsedReport {
  const [perMessage, ...perRecipient] = parseFieldGroups(part.content.toString('utf8'));
  const recipients: RecipientStatus[] = [];
  for (const g of perRecipient) {
    const address = typedAddress(g.get('final-recipient')?.[0]) ?? typedAddress(g.get('original-recipient')?.[0]);
    const action = (g.get('action')?.[0] ?? '').toLowerCase();
    const status = STATUS.exec(g.get('status')?.[0] ?? '')?.[0] ?? '';
    const kind = deliveryKind(action, status);
    if (!address || !kind) continue;
    const diagnostic = g.get('diagnostic-code')?.[0];
    recipients.push({ address, action, status, kind, ...(diagnostic ? { diagnostic } : {}) });
  }
  if (!recipients.length) return { type: 'unknown', reason: 'delivery status without a readable recipient', ...(originalMessageId ? { originalMessageId } : {}) };
  const reportingMta = perMessage?.get('reporting-mta')?.[0];
  return { type: 'dsn', recipients, ...(reportingMta ? { reportingMta } : {}), ...(originalMessageId ? { originalMessageId } : {}) };
}

function feedbackOf(part: Attachment, originalMessageId: string | undefined): ParsedReport {
  const fields = parseFieldGroups(part.content.toString('utf8'))[0] ?? new Map<string, string[]>();
  const feedbackType = (fields.get('feedback-type')?.[0] ?? '').toLowerCase().trim();
  if (!/^[a-z0-9-]{1,64}$/.test(feedbackType)) return { type: 'unknown', reason: 'feedback report without a Feedback-Type', ...(originalMessageId ? { originalMessageId } : {}) };
  const unbracket = (v: string) => v.trim().replace(/^<(.*)>$/, '$1');
  const originalRcptTo = (fields.get('original-rcpt-to') ?? []).map(unbracket).filter((v) => /^[^\s@<>]+@[^\s@<>]+$/.test(v));
  const from = fields.get('original-mail-from')?.[0];
  const userAgent = fields.get('user-agent')?.[0];
  return {
    type: 'feedback',
    feedbackType,
    originalRcptTo,
    ...(from ? { originalMailFrom: unbracket(from) } : {}),
    ...(userAgent ? { userAgent } : {}),
    ...(originalMessageId ? { originalMessageId } : {}),
  };
}

export async function parseReport(raw: Buffer): Promise<ParsedReport> {
  let parsed;
  try {
    parsed = await simpleParser(raw, { keepDeliveryStatus: true, skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  } catch (err) {
    return { type: 'unknown', reason: `not a readable message: ${(err as Error).message}`.slice(0, 200) };
  }
  const parts = parsed.attachments;
  const find = (...types: string[]) => parts.find((a) => types.includes(a.contentType.toLowerCase()));
  const returned = find('message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers');
  const originalMessageId = returned ? messageIdOf(returned.content.toString('utf8')) : undefined;
  const feedback = find('message/feedback-report');
  if (feedback) return feedbackOf(feedback, originalMessageId);
  const status = find('message/delivery-status', 'message/global-delivery-status');
  if (status) return dsnOf(status, originalMessageId);
  return { type: 'unknown', reason: 'neither a delivery status notification nor a feedback report', ...(originalMessageId ? { originalMessageId } : {}) };
}
