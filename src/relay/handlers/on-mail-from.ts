// MAIL FROM starts a message: refused while shutting down, and refused for a session whose account was
// disabled, deleted or rotated since it authenticated (session-check.ts: shared reads, a short cache).
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { sessionFields, sessionPrincipal, type RelayDeps } from '../deps.ts';
import { mailboxProblem } from '../../shared/mailbox.ts';
import { envelopeProblem } from '../envelope.ts';
import { reply } from '../smtp-errors.ts';
import { envelopeSenderRefusal, type SenderGuardDeps } from '../sender-guard.ts';

/** What MAIL FROM uses: the session check and the sender policy. */
export type MailFromDeps = Pick<RelayDeps, 'log' | 'settings' | 'state' | 'sessionCheck'> & SenderGuardDeps;

export const onMailFrom =
  (deps: MailFromDeps) =>
  (address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void => {
    check(deps, address, session).then(
      () => callback(),
      (err: Error) => callback(err),
    );
  };

async function check(deps: MailFromDeps, address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
  const { log, settings } = deps;
  if (deps.state.stopping) throw reply.shuttingDown(settings.hostname);
  const problem = envelopeProblem(address);
  if (problem) {
    log.info({ code: 'RELAY_ENVELOPE_INVALID', ...sessionFields(session), field: 'mail_from', problem }, 'bad MAIL FROM');
    throw problem === 'address' ? reply.badAddress('sender') : reply.badParameter();
  }
  const principal = sessionPrincipal(session);
  if (!principal) throw reply.authRequired();
  // The null sender (<>) is allowed; any other sender must be one the worker can put in its MAIL FROM.
  const undeliverable = address.address === '' ? null : mailboxProblem(address.address);
  if (undeliverable) {
    log.info({ code: 'RELAY_ENVELOPE_INVALID', ...sessionFields(session), field: 'mail_from', problem: undeliverable }, 'unusable MAIL FROM');
    throw reply.undeliverableAddress('sender', address.address, undeliverable);
  }
  let verdict;
  try {
    verdict = await deps.sessionCheck.check(principal);
  } catch (err) {
    log.error({ err, code: 'RELAY_STORE_UNAVAILABLE', ...sessionFields(session), stage: 'mail_from' }, 'cannot check the account: 451');
    throw reply.storeUnavailable();
  }
  if (!verdict.ok) {
    log.warn({ code: 'RELAY_SESSION_REVOKED', ...sessionFields(session), reason: verdict.reason }, 'session refused: account changed since AUTH');
    throw reply.sessionRevoked(principal.username, verdict.reason);
  }
  // The account read just now is the freshest policy: a change applies from the next message, on every session.
  principal.policy = verdict.policy;
  const refused = envelopeSenderRefusal(deps, session, principal, address.address);
  if (refused) throw refused;
}
