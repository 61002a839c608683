// Reports as remote systems send them, built to their RFCs: a DSN (RFC 3464) and an ARF feedback report
// (RFC 5965). Used by the parser's table tests and the bounces listener's end-to-end tests.
import { RawSmtpClient, type SmtpReply } from './smtp-client.ts';

export interface DsnOptions {
  to: string;
  recipients: { address: string; action?: string; status?: string; diagnostic?: string }[];
  originalHeaders?: string;
  boundary?: string;
}

export function buildDsn(o: DsnOptions): string {
  const b = o.boundary ?? 'dsn-boundary-1';
  const groups = o.recipients
    .map((r) =>
      [
        `Final-Recipient: rfc822; ${r.address}`,
        `Action: ${r.action ?? 'failed'}`,
        `Status: ${r.status ?? '5.1.1'}`,
        ...(r.diagnostic === undefined ? [] : [`Diagnostic-Code: smtp; ${r.diagnostic}`]),
      ].join('\r\n'),
    )
    .join('\r\n\r\n');
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>',
    `To: <${o.to}>`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'I am sorry to have to inform you that your message could not be delivered.',
    '',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.remote.test',
    'Arrival-Date: Sat, 5 Dec 2026 02:00:00 +0000',
    '',
    groups,
    '',
    `--${b}`,
    'Content-Type: text/rfc822-headers',
    '',
    o.originalHeaders ?? 'Message-ID: <orig@sender.test>\r\nSubject: hello',
    '',
    `--${b}--`,
    '',
  ].join('\r\n');
}

export interface ArfOptions {
  to: string;
  feedbackType?: string;
  originalRcptTo?: string[];
  originalMailFrom?: string;
  originalHeaders?: string;
}

export function buildArf(o: ArfOptions): string {
  const b = 'arf-boundary-1';
  return [
    'From: Feedback Loop <fbl@provider.test>',
    `To: <${o.to}>`,
    'Subject: FW: complaint',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is an email abuse report for an email message received from IP 127.0.0.1.',
    '',
    `--${b}`,
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${o.feedbackType ?? 'abuse'}`,
    'User-Agent: ProviderFBL/1.0',
    'Version: 1',
    ...(o.originalMailFrom ? [`Original-Mail-From: <${o.originalMailFrom}>`] : []),
    ...(o.originalRcptTo ?? []).map((r) => `Original-Rcpt-To: <${r}>`),
    'Arrival-Date: Sat, 5 Dec 2026 02:00:00 +0000',
    'Source-IP: 127.0.0.1',
    '',
    `--${b}`,
    'Content-Type: message/rfc822',
    '',
    o.originalHeaders ?? 'Message-ID: <orig@sender.test>\r\nSubject: hello',
    '',
    'the original body',
    '',
    `--${b}--`,
    '',
  ].join('\r\n');
}

/** Hands a report to a listener as a remote MTA would: null sender, one RCPT, DATA. */
export async function sendReport(port: number, rcptTo: string, raw: string): Promise<{ rcpt: SmtpReply; data?: SmtpReply }> {
  const c = await RawSmtpClient.connect(port);
  try {
    await c.command('EHLO mx.remote.test');
    const mail = await c.command('MAIL FROM:<>');
    if (mail.code !== 250) return { rcpt: mail };
    const rcpt = await c.command(`RCPT TO:<${rcptTo}>`);
    if (rcpt.code !== 250) return { rcpt };
    const go = await c.command('DATA');
    if (go.code !== 354) return { rcpt, data: go };
    const stuffed = raw.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    const data = await c.command(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.`);
    await c.command('QUIT').catch(() => undefined);
    return { rcpt, data };
  } finally {
    c.close();
  }
}
