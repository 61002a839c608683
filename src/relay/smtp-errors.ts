// Every answer the relay gives on a refusal, in one place: SMTP code and text. The server is run with
// ENHANCEDSTATUSCODES on, so smtp-server puts the enhanced code (535 -> 5.7.8, 451 -> 4.3.0, 552 -> 5.2.2…)
// in front of these texts; each code below is chosen so that the enhanced code it gets is the right one.
import type { SMTPServerError } from 'smtp-server';
import { isDomainError, suppressedReply, type Suppression } from '../domain/index.ts';

export function smtpError(responseCode: number, message: string, code?: string): SMTPServerError & { code?: string } {
  const err: SMTPServerError & { code?: string } = new Error(message);
  err.responseCode = responseCode;
  if (code) err.code = code;
  return err;
}

/**
 * A reply with its own enhanced status code instead of the one smtp-server derives from the reply code
 * (550 would get 5.1.1): connection-hooks.ts sends a text that starts with an enhanced code as it is.
 */
export function smtpErrorWithEnhanced(responseCode: number, enhanced: string, message: string): SMTPServerError {
  return smtpError(responseCode, `${enhanced} ${message}`);
}

export const reply = {
  /** Same words for a wrong password, an unknown username, a disabled and a deleted account. */
  authFailed: () => smtpError(535, 'Authentication failed'),
  authLocked: (retryAfterMs: number) => smtpError(454, `Too many failed authentications, try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`),
  authUnavailable: () => smtpError(454, 'Temporary authentication failure, try again later'),
  authNeedsTls: () => smtpError(538, 'Must issue a STARTTLS command first'),
  authMethodRefused: () => smtpError(504, 'Unrecognized authentication type'),
  authRequired: () => smtpError(530, 'Authentication required'),
  sessionRevoked: (username: string, why: 'deleted' | 'disabled' | 'credentials_changed') =>
    smtpError(
      530,
      why === 'disabled'
        ? `Account ${username} is disabled: no further mail is accepted on this connection`
        : why === 'deleted'
          ? `Account ${username} no longer exists: no further mail is accepted on this connection`
          : `Credentials of ${username} changed: authenticate again`,
    ),
  shuttingDown: (hostname: string) => smtpError(421, `${hostname} is shutting down, try again later`),
  badAddress: (which: 'sender' | 'recipient') => smtpError(553, `Bad ${which} address: control characters are not allowed`),
  /** An address delivery could never use (a literal, a malformed domain or local part). */
  undeliverableAddress: (which: 'sender' | 'recipient', address: string, why: string) => smtpError(553, `Bad ${which} address <${address}>: ${why}`),
  badParameter: () => smtpError(501, 'Bad parameter: control characters are not allowed'),
  /** 550 gets 5.1.1 (mailbox unavailable): the address hard-bounced before. */
  suppressed: (s: Pick<Suppression, 'address' | 'at'>) => smtpError(550, suppressedReply(s)),
  tooManyRecipients: (max: number) => smtpError(452, `Too many recipients: at most ${max} per message`),
  tooBig: (max: number) => smtpError(552, `Message exceeds the maximum size of ${max} bytes`),
  /** A byte that must not be in a message: a bare LF or CR (smuggling), or a NUL. */
  bareLineBreak: (what: 'bare_lf' | 'bare_cr' | 'nul') =>
    what === 'nul'
      ? smtpError(554, 'Message refused: a NUL byte in the message (RFC 5322)')
      : smtpError(554, `Message refused: bare ${what === 'bare_lf' ? 'LF' : 'CR'} in the message; every line must end with CRLF`),
  lineTooLong: () => smtpError(554, 'Message refused: a line is longer than 998 characters (RFC 5322)'),
  storeUnavailable: () => smtpError(451, 'Temporary failure storing the message, try again later (it was not accepted)'),
} as const;

/** Domain error code -> SMTP reply. Anything else the relay did not expect is a temporary local error. */
export function replyForError(err: unknown): SMTPServerError {
  if (isDomainError(err)) {
    switch (err.code) {
      // 552 gets 5.2.2 ("exceeded storage allocation"): permanent, names the quota in the text.
      case 'QUOTA.EXCEEDED':
        return smtpError(552, err.message, err.code);
      case 'ACCOUNT.SESSION_REVOKED': {
        const why = (err.details as { reason?: 'deleted' | 'disabled' | 'credentials_changed' } | undefined)?.reason ?? 'disabled';
        const username = (err.details as { username?: string } | undefined)?.username ?? 'this account';
        return Object.assign(reply.sessionRevoked(username, why), { code: err.code });
      }
      // An allowed-senders refusal (sender-guard.ts): permanent, policy (5.7.1), naming the rules.
      case 'SENDER.NOT_ALLOWED':
        return smtpErrorWithEnhanced(550, '5.7.1', err.message);
      case 'WORKSPACE.NOT_FOUND':
      case 'ACCOUNT.NOT_FOUND':
        return smtpError(530, `${err.message} Authenticate again.`, err.code);
      default:
        return smtpError(451, `Temporary local error (${err.code}), try again later`, err.code);
    }
  }
  return reply.storeUnavailable();
}
