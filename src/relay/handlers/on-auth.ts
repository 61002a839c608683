// AUTH PLAIN and LOGIN: TLS first (unless allowed on loopback for development), the brute-force gate,
// then the domain's rule. Every failure answers `535 5.7.8 Authentication failed`, whatever the reason.
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { authenticateSmtpAccount, type SmtpAuthContext } from '../../domain/index.ts';
import { withDeadline } from '../deadline.ts';
import { isLoopback, type RelayDeps } from '../deps.ts';
import { reply } from '../smtp-errors.ts';

/** What AUTH uses: the accounts (read within RELAY_STORE_TIMEOUT_MS), the brute-force gate, the credential cache. */
export type AuthDeps = Pick<RelayDeps, 'ctx' | 'log' | 'metrics' | 'settings' | 'bruteForce' | 'credentialCache'>;

type AuthCallback = (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void;

export const onAuth = (deps: AuthDeps) => {
  const accounts = boundedAccountReads(deps);
  return (auth: SMTPServerAuthentication, session: SMTPServerSession, callback: AuthCallback): void => {
    authenticate(deps, accounts, auth, session).then(
      (user) => callback(null, { user }),
      (err: Error) => callback(err),
    );
  };
};

/**
 * The account read AUTH makes, bounded by RELAY_STORE_TIMEOUT_MS so that a store that does not answer gives a
 * temporary failure; the bcrypt check (CPU, not store) is never cut short, so the bound is on the read alone.
 */
function boundedAccountReads({ ctx, settings }: AuthDeps): SmtpAuthContext {
  return {
    bcryptCost: ctx.bcryptCost,
    clock: ctx.clock,
    accounts: {
      findByUsernameWithSecret: (username) => withDeadline(ctx.accounts.findByUsernameWithSecret(username), settings.storeTimeoutMs, 'read account by username'),
      markPreviousPasswordUsed: (id, at) => ctx.accounts.markPreviousPasswordUsed(id, at),
    },
  };
}

async function authenticate(deps: AuthDeps, accounts: SmtpAuthContext, auth: SMTPServerAuthentication, session: SMTPServerSession) {
  const { log, metrics, settings, bruteForce } = deps;
  const ip = session.remoteAddress;
  const username = auth.username ?? '';
  const fields = { session: session.id, ip, username, method: auth.method };

  if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') {
    metrics.smtpAuth.inc({ result: 'failure', reason: 'malformed' });
    throw reply.authMethodRefused();
  }
  if (!session.secure && !(settings.allowInsecureAuthOnLoopback && isLoopback(ip))) {
    metrics.smtpAuth.inc({ result: 'failure', reason: 'not_tls' });
    log.warn({ code: 'RELAY_AUTH_NOT_TLS', ...fields }, 'AUTH before STARTTLS refused');
    throw reply.authNeedsTls();
  }

  const gate = await bruteForce.check(ip, username);
  if (gate.blocked) {
    metrics.smtpAuth.inc({ result: 'failure', reason: 'locked' });
    log.info({ code: 'RELAY_AUTH_THROTTLED', ...fields, lockedBy: gate.by, retryAfterMs: gate.retryAfterMs }, 'AUTH refused during lockout');
    throw reply.authLocked(gate.retryAfterMs);
  }

  let result;
  try {
    result = await authenticateSmtpAccount(accounts, username, auth.password ?? '', deps.credentialCache);
  } catch (err) {
    metrics.smtpAuth.inc({ result: 'failure', reason: 'unavailable' });
    log.error({ err, code: 'RELAY_AUTH_UNAVAILABLE', ...fields }, 'AUTH could not read the accounts: 454');
    throw reply.authUnavailable();
  }

  if (result.ok) {
    bruteForce.recordSuccess(username);
    metrics.smtpAuth.inc({ result: 'success', reason: result.cached ? 'cached' : 'ok' });
    // One info line per message at most: an AUTH served from the credential cache (every connection of an
    // application that connects per message) is a debug line.
    if (result.cached) log.debug({ code: 'RELAY_AUTH_CACHED', ...fields, accountId: result.principal.accountId }, 'authenticated (credential cache)');
    else log.info({ code: 'RELAY_AUTH_OK', ...fields, accountId: result.principal.accountId }, 'authenticated');
    return result.principal;
  }

  // The right password of a disabled account is no guess: it must not lock out the other accounts at this address.
  const { delayMs, lockedNow, failures } = await bruteForce.recordFailure(ip, username, { address: result.reason !== 'disabled' });
  metrics.smtpAuth.inc({ result: 'failure', reason: result.reason === 'disabled' ? 'disabled' : result.reason === 'malformed' ? 'malformed' : 'bad_credentials' });
  log.warn({ code: 'RELAY_AUTH_FAILED', ...fields, reason: result.reason, failures, delayMs }, 'authentication failed');
  for (const by of lockedNow) {
    log.warn(
      { code: 'RELAY_AUTH_LOCKED', ...fields, lockedBy: by, failures, blockMs: settings.bruteForce.blockMs },
      `too many failed AUTHs for this ${by}: refusing AUTH (454) for ${Math.round(settings.bruteForce.blockMs / 1000)} s`,
    );
  }
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  throw reply.authFailed();
}
