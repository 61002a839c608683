// An SMTP reply or a transport error -> temporary (retry later) or permanent (bounce now).
// RFC 5321: 4yz replies are transient, 5yz permanent. Everything that is not an answer from the
// receiving server (connection refused, timeouts, TLS and DNS trouble, our own smarthost login) is
// temporary: the recipient's mailbox was never judged, so bouncing would be wrong.

export type FailureKind = 'temporary' | 'permanent';

export interface DeliveryFailure {
  kind: FailureKind;
  /** One line for people (kept as the recipient's lastError): reply text or error, and the stage. */
  message: string;
  /** RFC 3463 enhanced status for a delivery status notice, e.g. "5.1.1". */
  status: string;
  /** SMTP reply code when the server answered. */
  replyCode?: number;
  /** Stable code for logs, e.g. SMTP_5XX, SMTP_4XX, ECONNECTION, ETIMEDOUT. */
  code: string;
  /** The command the server answered (e.g. "RCPT TO"), when known: the suppression rule needs it. */
  stage?: string;
}

const MAX_MESSAGE = 500;

/** Collapses line breaks and control characters so a reply can never reach a header or a log as two lines. */
export function oneLine(text: string, max = MAX_MESSAGE): string {
  const flat = text
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "550 5.1.1 <a@b>: unknown" -> "5.1.1"; undefined when the reply carries no enhanced code. */
export function enhancedStatusOf(reply: string): string | undefined {
  const m = /^\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(reply.trim());
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

export function classifyReply(replyCode: number, reply: string, stage?: string): DeliveryFailure {
  const text = oneLine(reply);
  const message = stage ? `${text} (after ${stage})` : text;
  const enhanced = enhancedStatusOf(reply);
  // RFC 5321 4.5.3.1.10: a 552 to RCPT meaning "too many recipients" is to be treated as 452.
  const temporary = (replyCode >= 400 && replyCode < 500) || (replyCode === 552 && stage === 'RCPT TO' && /too many recipients/i.test(reply));
  if (temporary) {
    return { kind: 'temporary', message, status: enhanced?.startsWith('4') ? enhanced : '4.0.0', replyCode, code: 'SMTP_4XX' };
  }
  if (replyCode >= 500 && replyCode < 600) {
    return { kind: 'permanent', message, status: enhanced?.startsWith('5') ? enhanced : '5.0.0', replyCode, code: 'SMTP_5XX', ...(stage ? { stage } : {}) };
  }
  return { kind: 'temporary', message: `unexpected reply: ${message}`, status: '4.0.0', replyCode, code: 'SMTP_UNEXPECTED' };
}

const BEFORE_ENVELOPE = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b)/;

interface TransportError {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** A nodemailer (or socket, or DNS) error -> a failure for every recipient of that attempt. */
export function classifyError(err: unknown): DeliveryFailure {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as TransportError;
  if (typeof e.responseCode === 'number' && e.responseCode >= 400 && typeof e.response === 'string') {
    const f = classifyReply(e.responseCode, e.response, e.command);
    // Refused before the envelope (greeting, EHLO, STARTTLS, our own AUTH): about us and the server, not the
    // recipient, so never a bounce.
    if (e.code === 'EAUTH' || (e.command && BEFORE_ENVELOPE.test(e.command))) return { ...f, kind: 'temporary', status: '4.4.0', code: e.code ?? f.code };
    return f;
  }
  const code = typeof e.code === 'string' && e.code ? e.code : 'ERROR';
  const message = oneLine(`${e.message ?? 'unknown error'}${code !== 'ERROR' ? ` (${code})` : ''}`);
  switch (code) {
    // Refused before talking to any server: our own envelope checks or nodemailer's.
    case 'EENVELOPE':
      return { kind: 'permanent', message, status: '5.1.3', code };
    case 'EMESSAGE':
      // "Message size larger than allowed" (the server's SIZE): the message will never fit.
      return /size/i.test(e.message ?? '') ? { kind: 'permanent', message, status: '5.3.4', code } : { kind: 'temporary', message, status: '4.0.0', code };
    case 'EAUTH':
      // Our smarthost refused our own login: an operator problem, never the sender's fault.
      return { kind: 'temporary', message, status: '4.7.0', code };
    default:
      // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EPROTOCOL, ECONNREFUSED…
      return { kind: 'temporary', message, status: '4.4.1', code };
  }
}

export const permanentFailure = (message: string, status: string, code: string): DeliveryFailure => ({
  kind: 'permanent',
  message: oneLine(message),
  status,
  code,
});

export const temporaryFailure = (message: string, status: string, code: string): DeliveryFailure => ({
  kind: 'temporary',
  message: oneLine(message),
  status,
  code,
});
