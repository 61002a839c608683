// The one reader of a message's header block and of the addresses in it. The relay's sender guard, the DKIM
// signer's choice of domain, the stored Subject/Message-ID and the bounce notice all read headers here, so they
// cannot disagree about what a header says: when the guard checked me@acme.test, DKIM signs for acme.test.
//
// Addresses are parsed by nodemailer's addressparser (quoted strings, comments, groups, angle addresses); the
// header block is split and unfolded here (RFC 5322 2.2.3: a line break followed by a space or tab is removed).
//
// Hostile forms and what they read as (table tests in test/shared/mail-headers.test.ts):
//   From: "Evil <ceo@bank.test>" <me@acme.test>   -> me@acme.test (a quoted display name is only a name)
//   From: me@acme.test (ceo@bank.test)            -> me@acme.test (a comment is only a comment)
//   From: =?utf-8?q?ceo@bank.test?= <me@acme.test> -> me@acme.test (encoded words are names, never addresses)
//   From: team: a@x.test, b@y.test;                -> a@x.test and b@y.test (a group's members)
//   two From: headers                              -> 'duplicate': RFC 5322 3.6 allows one, and readers differ
//                                                     on which one they show; the relay refuses such a message
//                                                     and DKIM signs none of them.
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { mailboxProblem } from './mailbox.ts';

/** Only the first 64 KiB are read as headers: enough for any real header block, bounded for hostile ones. */
export const HEADER_READ_LIMIT = 64 * 1024;

export interface HeaderField {
  /** Lower case, e.g. "from". */
  name: string;
  /** Unfolded and trimmed; at most 998 characters (RFC 5322 line limit). */
  value: string;
}

/**
 * The header block: everything before the first empty line (CRLF or bare LF endings), at most
 * HEADER_READ_LIMIT bytes; '' when the message starts with an empty line (then it has no header at all).
 */
export function headerBlockOf(message: Buffer): string {
  const text = message.subarray(0, Math.min(message.length, HEADER_READ_LIMIT)).toString('utf8');
  if (/^\r?\n/.test(text)) return '';
  const end = text.search(/\r?\n\r?\n/);
  return end >= 0 ? text.slice(0, end) : text;
}

/** Every header field of the block, in order, unfolded. Lines that are not fields (no colon) are skipped. */
export function headerFields(message: Buffer): HeaderField[] {
  const block = headerBlockOf(message);
  if (block === '') return [];
  const fields: HeaderField[] = [];
  // A field is a line that does not start with white space, plus the continuation lines after it.
  for (const raw of block.split(/\r?\n(?![ \t])/)) {
    const colon = raw.indexOf(':');
    if (colon <= 0 || /^[ \t]/.test(raw)) continue;
    // "From :" (white space before the colon, RFC 822's obsolete form) is still a From: field to every reader.
    const name = raw.slice(0, colon).trimEnd().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    const value = raw
      .slice(colon + 1)
      .replace(/\r?\n(?=[ \t])/g, '')
      .trim()
      .slice(0, 998);
    fields.push({ name, value });
  }
  return fields;
}

/** The values of every field called `name` (lower case), in order. */
export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  return fields.filter((f) => f.name === name).map((f) => f.value);
}

export interface Mailbox {
  /** The address as written ('' when the part had none, e.g. "undisclosed"). */
  address: string;
  /** Display name or comment text, not decoded. */
  name: string;
  /** Why `address` is not a usable mailbox (mailbox.ts), or null. */
  problem: string | null;
}

/** The mailboxes of an address-list value (group members included, groups themselves dropped). */
export function parseMailboxes(value: string): Mailbox[] {
  return addressparser(value, { flatten: true }).map((m) => {
    const address = (m.address ?? '').trim();
    return { address, name: m.name ?? '', problem: address === '' ? 'no address' : mailboxProblem(address) };
  });
}

/** What the From: header says: none, more than one field, or the mailboxes of the one field there is. */
export type FromHeader = { kind: 'absent' } | { kind: 'duplicate'; count: number } | { kind: 'single'; mailboxes: Mailbox[] };

export function readFrom(fields: readonly HeaderField[]): FromHeader {
  const values = headerValues(fields, 'from');
  if (values.length === 0) return { kind: 'absent' };
  if (values.length > 1) return { kind: 'duplicate', count: values.length };
  return { kind: 'single', mailboxes: parseMailboxes(values[0]!) };
}

/** The address whose domain speaks for the message (DKIM): the first From: mailbox, when it is a valid one. */
export function authorAddress(fields: readonly HeaderField[]): string | undefined {
  const from = readFrom(fields);
  if (from.kind !== 'single') return undefined;
  const first = from.mailboxes[0];
  return first && first.problem === null ? first.address : undefined;
}

/** Message-ID, Subject and whether there is a Date: what the queue stores of a message's header. */
export interface HeaderSummary {
  messageId?: string;
  subject?: string;
  /** Whether the message has a Date header (the relay adds one when it has none). */
  hasDate: boolean;
}

export function headerSummary(fields: readonly HeaderField[]): HeaderSummary {
  const out: HeaderSummary = { hasDate: false };
  const messageId = headerValues(fields, 'message-id')[0];
  const subject = headerValues(fields, 'subject')[0];
  if (messageId !== undefined) out.messageId = messageId;
  if (subject !== undefined) out.subject = subject;
  out.hasDate = headerValues(fields, 'date').length > 0;
  return out;
}
