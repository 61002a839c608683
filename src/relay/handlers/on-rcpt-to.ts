import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { sessionFields, sessionPrincipal, type RelayDeps } from '../deps.ts';
import { rateLimitRefusal } from '../rate-limiter.ts';
import { mailboxProblem } from '../../shared/mailbox.ts';
import { envelopeProblem } from '../envelope.ts';
import { reply } from '../smtp-errors.ts';

export const onRcptTo =
  (deps: RelayDeps) =>
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
    const principal = sessionPrincipal(session);
    // A repeated recipient is not a new email; an account without a limit never waits for the database here.
    if (known || !principal?.policy.rateLimit) return callback();
    rateLimitRefusal(deps, session, principal).then(
      (refused) => callback(refused),
      (err: Error) => callback(err),
    );
  };
