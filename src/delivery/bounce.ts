// The bounce notice: a delivery status notification (RFC 3464 multipart/report) sent from MAILER-DAEMON
// with the null sender <> back to the envelope sender of a message that some recipients will never get.
// It carries a readable explanation, the machine-readable status per recipient, and the original headers
// (not the body: the sender has it, and it may be large).
import { randomBytes } from 'node:crypto';
import { headerBlockOf, headerFields, headerValues } from '../shared/mail-headers.ts';
import { oneLine, type DeliveryFailure } from './classify.ts';

export interface BounceRecipient {
  address: string;
  failure: DeliveryFailure;
  /** True when delivery gave up after retrying until the maximum age. */
  expired: boolean;
}

export interface BounceInput {
  /** Our name (DELIVERY_HELO_NAME): Reporting-MTA and the MAILER-DAEMON address. */
  reportingMta: string;
  queueId: string;
  /** Envelope sender of the original: the notice goes there. */
  to: string;
  originalSubject?: string | null;
  arrivalDate: Date;
  /** The original message (only its header block is quoted). */
  originalMessage: Buffer;
  recipients: BounceRecipient[];
  now: Date;
}

/** Never bounce a bounce (null sender), and only when the operator wants bounces at all. */
export function shouldSendBounce(opts: { enabled: boolean; kind?: string | null; envelopeFrom: string }): boolean {
  return opts.enabled && opts.kind !== 'bounce' && opts.envelopeFrom !== '';
}

/** The original's header block, with CRLF line endings, as the notice quotes it (at most 64 KiB). */
export function headerBlock(message: Buffer): string {
  return headerBlockOf(message).replace(/\r?\n/g, '\r\n');
}

/** RFC 2047 for a header value that is not plain ASCII. */
function encodeHeaderValue(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** RFC 5322 date, e.g. "Sun, 15 Nov 2026 12:00:00 +0000". */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function buildBounceMessage(input: BounceInput): { raw: Buffer; subject: string; messageId: string } {
  const boundary = `smtpdesk-dsn-${randomBytes(12).toString('hex')}`;
  const messageId = `<dsn.${input.queueId}.${input.now.getTime().toString(36)}.${randomBytes(4).toString('hex')}@${input.reportingMta}>`;
  const headers = headerBlock(input.originalMessage);
  const subjectLine = input.originalSubject ?? headerValues(headerFields(input.originalMessage), 'subject')[0];
  const original = subjectLine ? oneLine(subjectLine, 200) : '';
  const subject = original ? `Undelivered Mail Returned to Sender: ${original}` : 'Undelivered Mail Returned to Sender';
  const expiredOnly = input.recipients.every((r) => r.expired);

  const human = [
    `This is the mail system at ${input.reportingMta}.`,
    '',
    expiredOnly
      ? 'Your message could not be delivered to the recipients below: their mail servers kept refusing it temporarily until delivery gave up.'
      : 'Your message could not be delivered to one or more recipients. It has not been delivered to the recipients below, and will not be.',
    '',
    ...input.recipients.map((r) => `<${r.address}>: ${r.failure.message}`),
    '',
    `Queue ID: ${input.queueId}`,
    original ? `Subject: ${original}` : undefined,
    `Accepted: ${rfc5322Date(input.arrivalDate)}`,
    '',
    'The headers of your message are attached.',
  ].filter((l): l is string => l !== undefined);

  const status = [
    `Reporting-MTA: dns; ${input.reportingMta}`,
    `X-Smtpdesk-Queue-ID: ${input.queueId}`,
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`,
    '',
    ...input.recipients.flatMap((r) => [
      `Final-Recipient: rfc822; ${r.address}`,
      'Action: failed',
      `Status: ${r.expired ? '4.4.7' : r.failure.status}`,
      r.failure.replyCode ? `Diagnostic-Code: smtp; ${r.failure.message}` : `Diagnostic-Code: X-smtpdesk; ${r.failure.message}`,
      `Last-Attempt-Date: ${rfc5322Date(input.now)}`,
      '',
    ]),
  ];

  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.to}>`,
    `Subject: ${encodeHeaderValue(subject)}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: ${messageId}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'Content-Description: Notification',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    ...status,
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    'Content-Description: Undelivered message headers',
    '',
    headers,
    '',
    `--${boundary}--`,
    '',
  ];
  return { raw: Buffer.from(lines.join('\r\n'), 'utf8'), subject, messageId };
}
