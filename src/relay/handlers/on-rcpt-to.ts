import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { SmtpPrincipal } from '../../domain/index.ts';
import { sessionFields, sessionPrincipal, type RelayDeps } from '../deps.ts';
import { mailboxProblem } from '../../shared/mailbox.ts';
import { envelopeProblem } from '../envelope.ts';
import { reply } from '../smtp-errors.ts';
import { rateLimitRefusal, type RateLimitDeps } from '../rate-limiter.ts';

/** What RCPT TO uses: the suppression list, the rate limit and the refusal counts. */
export type RcptToDeps = Pick<RelayDeps, 'log' | 'settings' | 'refusals' | 'suppressions'> & RateLimitDeps;

export const onRcptTo =
  (deps: RcptToDeps) =>
  (address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void => {
    const problem = envelopeProblem(address);
    if (problem) {
      deps.log.info({ code: 'RELAY_ENVELOPE_INVALID', ...sessionFields(session), field: 'rcpt_to', problem }, 'bad RCPT TO');
      return callback(problem === 'address' ? reply.badAddress('recipient') : reply.badParameter());
    }
    // Refused now rather than accepted, counted against the quota and bounced by the worker.
    const undeliverable = mailboxProblem(address.address);
    if (undeliverable) {
      deps.refusals.add(sessionPrincipal(session));
      deps.log.info({ code: 'RELAY_ENVELOPE_INVALID', ...sessionFields(session), field: 'rcpt_to', problem: undeliverable }, 'undeliverable RCPT TO');
      return callback(reply.undeliverableAddress('recipient', address.address, undeliverable));
    }
    // smtp-server answers 452 itself past maxRecipients; this keeps the rule if that option ever changes.
    const known = session.envelope.rcptTo.some((r) => r.address.toLowerCase() === address.address.toLowerCase());
    if (!known && session.envelope.rcptTo.length >= deps.settings.maxRecipients) {
      return callback(reply.tooManyRecipients(deps.settings.maxRecipients));
    }
    // Refused here, so a hard-bounced address costs no quota (the list is cached: see suppression-cache.ts).
    const principal = sessionPrincipal(session);
    if (!principal) return callback();
    deps.suppressions.lookup(principal.workspaceId, address.address).then(
      (suppressed) => {
        if (!suppressed) return rateLimited(deps, session, principal, known, callback);
        deps.log.info({ code: 'RELAY_RCPT_SUPPRESSED', ...sessionFields(session), recipient: address.address, since: suppressed.at.toISOString() }, 'suppressed recipient refused');
        callback(reply.suppressed(suppressed));
      },
      // lookup() does not reject (it keeps the last copy); this only keeps a bug from hanging the session.
      () => callback(),
    );
  };

/**
 * The rate limit, after the suppression list (a refused address takes nothing from the window). A repeated
 * recipient is not a new email, and an account without a limit never waits for the database here.
 */
function rateLimited(deps: RcptToDeps, session: SMTPServerSession, principal: SmtpPrincipal, known: boolean, callback: (err?: Error | null) => void): void {
  if (known || !principal.policy.rateLimit) return callback();
  rateLimitRefusal(deps, session, principal).then(
    (refused) => callback(refused),
    (err: Error) => callback(err),
  );
}
