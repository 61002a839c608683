// Allowed senders at the relay: MAIL FROM when it arrives, the header From: at the end of DATA. Both are
// refused with 550 5.7.1 naming the account's rule list (at DATA through the domain error SENDER.NOT_ALLOWED); the rules came with the account read the relay
// already does (AUTH, and again at every MAIL FROM), so an account without rules costs nothing.
import type { SMTPServerSession } from 'smtp-server';
import { DomainError, checkSenders, describeAllowedSenders, type SmtpPrincipal } from '../domain/index.ts';
import { sessionFields, type RelayDeps } from './deps.ts';
import { headerFromAddresses } from './message-scanner.ts';
import { smtpErrorWithEnhanced } from './smtp-errors.ts';

/** What the sender checks use of the relay's deps. */
export type SenderGuardDeps = Pick<RelayDeps, 'log' | 'refusals'>;

function refusalText(principal: SmtpPrincipal, what: string, address: string): string {
  const rules = describeAllowedSenders(principal.policy.allowedSenders);
  return `${what} <${address}> is not an allowed sender of ${principal.username} (allowed senders: ${shorten(rules)})`;
}

function shorten(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** MAIL FROM: null when allowed (the null sender always is). */
export function envelopeSenderRefusal(deps: SenderGuardDeps, session: SMTPServerSession, principal: SmtpPrincipal, address: string): Error | null {
  const verdict = checkSenders(principal.policy.allowedSenders, [address]);
  if (verdict.ok) return null;
  deps.refusals.add(principal);
  deps.log.warn({ code: 'RELAY_SENDER_REFUSED', ...sessionFields(session), field: 'mail_from', sender: verdict.address }, 'MAIL FROM outside the allowed senders: 550');
  return smtpErrorWithEnhanced(550, '5.7.1', refusalText(principal, 'Sender', verdict.address));
}

/**
 * End of DATA: every address of every From: header must be allowed; a message without From: passes. Throws
 * DomainError SENDER.NOT_ALLOWED, which the DATA handler answers like any domain refusal (550 5.7.1, see
 * replyForError). `header` is the start of the body (the header block is read from its first 64 KiB).
 */
export function assertHeaderSenderAllowed(deps: SenderGuardDeps, session: SMTPServerSession, principal: SmtpPrincipal, header: Buffer): void {
  if (principal.policy.allowedSenders.length === 0) return;
  const from = headerFromAddresses(header);
  if (from === null) return;
  // An empty From: (or one with no address) has nothing to allow: refused like a stranger.
  const verdict =
    from.length === 0
      ? { ok: false as const, address: '' }
      : checkSenders(
          principal.policy.allowedSenders,
          from.map((a) => a || ' '),
        );
  if (verdict.ok) return;
  deps.refusals.add(principal, session.envelope.rcptTo.length);
  deps.log.warn({ code: 'RELAY_SENDER_REFUSED', ...sessionFields(session), field: 'header_from', sender: verdict.address }, 'header From outside the allowed senders: 550');
  throw new DomainError('SENDER.NOT_ALLOWED', refusalText(principal, 'Header From', verdict.address.trim()), { sender: verdict.address.trim() });
}
