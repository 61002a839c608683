// Allowed senders at the relay: MAIL FROM when it arrives, the header From: at the end of DATA. Both are
// refused with 550 5.7.1 naming the account's rule list (at DATA through the domain error SENDER.NOT_ALLOWED); the
// rules came with the account read the relay already does (AUTH, and again at every MAIL FROM). The header From:
// is read by shared/mail-headers.ts, the same reader DKIM picks its signing domain with, so the address checked
// here is the address signed for.
import type { SMTPServerSession } from 'smtp-server';
import { DomainError, checkSenders, describeAllowedSenders, type SmtpPrincipal } from '../domain/index.ts';
import { sessionFields, type RelayDeps } from './deps.ts';
import { headerFields, readFrom } from '../shared/mail-headers.ts';
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
 * End of DATA, for every account: a message with more than one From: header is refused (RFC 5322 3.6 allows one;
 * readers, DKIM verifiers and this check could each take a different one). Then, for an account with allowed
 * senders, every address of the From: header must be allowed and well formed; a message without From: passes.
 * Throws DomainError SENDER.NOT_ALLOWED, which the DATA handler answers like any domain refusal (550 5.7.1, see
 * replyForError). `header` is the start of the body (the header block is read from its first 64 KiB).
 */
export function assertHeaderSenderAllowed(deps: SenderGuardDeps, session: SMTPServerSession, principal: SmtpPrincipal, header: Buffer): void {
  const from = readFrom(headerFields(header));
  if (from.kind === 'duplicate') {
    deps.refusals.add(principal, session.envelope.rcptTo.length);
    deps.log.warn({ code: 'RELAY_SENDER_REFUSED', ...sessionFields(session), field: 'header_from', reason: 'duplicate_from', count: from.count }, 'several From: headers: 550');
    throw new DomainError('SENDER.NOT_ALLOWED', `Message refused: it has ${from.count} From: headers; RFC 5322 allows exactly one`, { count: from.count });
  }
  if (principal.policy.allowedSenders.length === 0 || from.kind === 'absent') return;
  // An empty From: (or a part with no address, e.g. "undisclosed:;") has nothing to allow: refused like a stranger.
  const malformed = from.mailboxes.length === 0 ? { address: '', name: '', problem: 'no address' } : from.mailboxes.find((m) => m.problem !== null);
  // What was written where an address should be ("undisclosed"), so the client sees what was refused.
  const refused = malformed
    ? { address: (malformed.address || malformed.name).slice(0, 254), problem: malformed.problem }
    : checkedAgainstRules(
        principal,
        from.mailboxes.map((m) => m.address),
      );
  if (!refused) return;
  deps.refusals.add(principal, session.envelope.rcptTo.length);
  deps.log.warn(
    { code: 'RELAY_SENDER_REFUSED', ...sessionFields(session), field: 'header_from', sender: refused.address, ...(refused.problem ? { reason: refused.problem } : {}) },
    'header From outside the allowed senders: 550',
  );
  const text = refused.problem
    ? `Header From <${refused.address}> is not a valid address (${refused.problem}); ${principal.username} may send only as its allowed senders (${shorten(describeAllowedSenders(principal.policy.allowedSenders))})`
    : refusalText(principal, 'Header From', refused.address);
  throw new DomainError('SENDER.NOT_ALLOWED', text, { sender: refused.address });
}

function checkedAgainstRules(principal: SmtpPrincipal, addresses: string[]): { address: string; problem: null } | undefined {
  const verdict = checkSenders(principal.policy.allowedSenders, addresses);
  return verdict.ok ? undefined : { address: verdict.address, problem: null };
}
