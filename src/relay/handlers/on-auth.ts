// AUTH PLAIN and LOGIN: TLS first (unless allowed on loopback for development), the brute-force gate,
// then the domain's rule (password, status, allowed networks). Every failure answers
// `535 5.7.8 Authentication failed`, whatever the reason: the right password from outside the account's
// allowed networks too, so that no one learns where a password would work.
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import {
  authenticateSmtpAccount,
  NETWORK_REFUSALS_ALERT_AFTER,
  NETWORK_REFUSALS_EPISODE_MS,
  NETWORK_REFUSALS_WINDOW_MS,
  raiseNetworkRefusals,
  type Account,
  type SmtpAuthContext,
} from '../../domain/index.ts';
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
    result = await authenticateSmtpAccount(accounts, username, auth.password ?? '', deps.credentialCache, { clientAddress: ip });
  } catch (err) {
    metrics.smtpAuth.inc({ result: 'failure', reason: 'unavailable' });
    log.error({ err, code: 'RELAY_AUTH_UNAVAILABLE', ...fields }, 'AUTH could not read the accounts: 454');
    throw reply.authUnavailable();
  }

  if (result.ok) {
    await bruteForce.recordSuccess(username, ip);
    metrics.smtpAuth.inc({ result: 'success', reason: result.cached ? 'cached' : 'ok' });
    // One info line per message at most: an AUTH served from the credential cache (every connection of an
    // application that connects per message) is a debug line.
    if (result.cached) log.debug({ code: 'RELAY_AUTH_CACHED', ...fields, accountId: result.principal.accountId }, 'authenticated (credential cache)');
    else log.info({ code: 'RELAY_AUTH_OK', ...fields, accountId: result.principal.accountId }, 'authenticated');
    return result.principal;
  }

  // The right password of a disabled account, or from outside the allowed networks, is no guess: it must not
  // lock out the other accounts at this address.
  const guess = result.reason !== 'disabled' && result.reason !== 'network';
  const { delayMs, lockedNow, failures } = await bruteForce.recordFailure(ip, username, { address: guess });
  metrics.smtpAuth.inc({ result: 'failure', reason: guess ? (result.reason === 'malformed' ? 'malformed' : 'bad_credentials') : result.reason });
  if (result.reason === 'network' && result.account) await networkRefused(deps, result.account, ip, fields);
  else log.warn({ code: 'RELAY_AUTH_FAILED', ...fields, reason: result.reason, failures, delayMs }, 'authentication failed');
  for (const by of lockedNow) {
    log.warn(
      { code: 'RELAY_AUTH_LOCKED', ...fields, lockedBy: by, failures, blockMs: settings.bruteForce.blockMs },
      `too many failed AUTHs for this ${by}: refusing AUTH (454) for ${Math.round(settings.bruteForce.blockMs / 1000)} s`,
    );
  }
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  throw reply.authFailed();
}

/** Logs the refusal with its own code, counts it, and raises the episode's alert on the refusal that starts one. */
async function networkRefused(deps: AuthDeps, account: Account, ip: string, fields: Record<string, unknown>): Promise<void> {
  const { refusals, alertNow } = await deps.bruteForce.recordNetworkRefusal(account.id, {
    alertAfter: NETWORK_REFUSALS_ALERT_AFTER,
    windowMs: NETWORK_REFUSALS_WINDOW_MS,
    quietMs: NETWORK_REFUSALS_EPISODE_MS,
  });
  deps.log.warn(
    { code: 'RELAY_AUTH_NETWORK_REFUSED', ...fields, accountId: account.id, allowedNetworks: account.allowedNetworks, refusals },
    'right password from outside the allowed networks: 535',
  );
  if (!alertNow) return;
  try {
    await raiseNetworkRefusals(deps.ctx, account, { address: ip, refusals });
    deps.log.warn({ code: 'RELAY_AUTH_NETWORK_ALERT', ...fields, accountId: account.id, refusals }, 'repeated AUTHs from outside the allowed networks: alert raised');
  } catch (err) {
    deps.log.error({ err, code: 'RELAY_AUTH_NETWORK_ALERT_FAILED', accountId: account.id }, 'could not raise the network-refusal alert');
  }
}
