import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { sessionFields, sessionPrincipal, type RelayDeps } from '../deps.ts';
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
        if (!suppressed) return callback();
        deps.log.info({ code: 'RELAY_RCPT_SUPPRESSED', ...sessionFields(session), recipient: address.address, since: suppressed.at.toISOString() }, 'suppressed recipient refused');
        callback(reply.suppressed(suppressed));
      },
      // lookup() does not reject (it keeps the last copy); this only keeps a bug from hanging the session.
      () => callback(),
    );
  };
