// The relay's authentication rule: who may send, checked on every AUTH and again before every message.
import type { DomainContext } from './context.ts';
import { dummyPasswordHash, verifyPassword } from './credentials.ts';

/** Who an SMTP session sends as, from a successful AUTH until the session ends. */
export interface SmtpPrincipal {
  accountId: string;
  workspaceId: string;
  username: string;
  /** The account's credential version when the session authenticated; rotate, disable, enable and delete bump it. */
  credentialVersion: number;
}

/**
 * Why an AUTH failed. For logs and metrics only: the client gets the same answer, after the same work
 * (one account read and one bcrypt check), whatever the reason.
 */
export type SmtpAuthFailure = 'unknown_user' | 'bad_password' | 'disabled' | 'malformed';

export type SmtpAuthResult =
  | { ok: true; principal: SmtpPrincipal; cached: boolean }
  | { ok: false; reason: SmtpAuthFailure; username: string };

/** A credential verified earlier: the account it belongs to and that account's credential version then. */
export interface VerifiedCredential {
  accountId: string;
  credentialVersion: number;
}

/**
 * Remembers verified credentials so that an application opening a connection per message does not pay
 * bcrypt each time. Implementations key entries by a keyed hash of username and password and never keep
 * the password; an entry only counts when the account is active and still has the same credential version.
 */
export interface VerifiedCredentialCache {
  get(username: string, password: string): VerifiedCredential | undefined;
  set(username: string, password: string, entry: VerifiedCredential): void;
  /**
   * Optional: lets concurrent AUTHs with the same username, password and account version share one bcrypt
   * check (an application opening many connections at once with a cold cache pays it once, not N times).
   */
  shareCheck?(username: string, password: string, version: VerifiedCredential, check: () => Promise<boolean>): Promise<boolean>;
}

/** Longer than any generated username or password by far; longer input is refused without a lookup. */
const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 1024;

/**
 * Checks an SMTP username and password against the stored accounts.
 * Every path that fails does exactly one bcrypt check (against a dummy hash when there is no account),
 * so a wrong password, an unknown username, a disabled and a deleted account cannot be told apart by timing.
 * Store errors are thrown (the adapter answers with a temporary failure).
 */
export async function authenticateSmtpAccount(
  ctx: DomainContext,
  username: string,
  password: string,
  cache?: VerifiedCredentialCache,
): Promise<SmtpAuthResult> {
  if (!username || !password || username.length > MAX_USERNAME_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await dummyPasswordHash(ctx.bcryptCost));
    return { ok: false, reason: 'malformed', username };
  }
  const account = await ctx.accounts.findByUsernameWithSecret(username);
  if (account && account.status === 'active' && cache) {
    const known = cache.get(username, password);
    if (known && known.accountId === account.id && known.credentialVersion === account.credentialVersion) {
      return { ok: true, principal: principalOf(account), cached: true };
    }
  }
  const check = async () => verifyPassword(password, account?.passwordHash ?? (await dummyPasswordHash(ctx.bcryptCost)));
  // Shared on every path (unknown, disabled and deleted too), or concurrent identical tries would tell
  // an existing account (one check) from a missing one (one check each) by timing.
  const matches = cache?.shareCheck
    ? await cache.shareCheck(username, password, { accountId: account?.id ?? '', credentialVersion: account?.credentialVersion ?? 0 }, check)
    : await check();
  if (!account) return { ok: false, reason: 'unknown_user', username };
  if (!matches) return { ok: false, reason: 'bad_password', username };
  if (account.status !== 'active') return { ok: false, reason: 'disabled', username };
  cache?.set(username, password, { accountId: account.id, credentialVersion: account.credentialVersion });
  return { ok: true, principal: principalOf(account), cached: false };
}

export type SmtpSessionCheck = { ok: true } | { ok: false; reason: 'deleted' | 'disabled' | 'credentials_changed' };

/**
 * Whether an authenticated session may start another message: the account still exists, is active and
 * has the credential version it had at AUTH. One read by id, done before every message.
 */
export async function checkSmtpSession(ctx: DomainContext, principal: SmtpPrincipal): Promise<SmtpSessionCheck> {
  return sessionVerdict(await ctx.accounts.findById(principal.accountId), principal);
}

/** The same rule for the sessions of a whole commit batch: one read for all their accounts. */
export async function checkSmtpSessions(ctx: DomainContext, principals: readonly SmtpPrincipal[]): Promise<SmtpSessionCheck[]> {
  const accounts = new Map((await ctx.accounts.findManyById(principals.map((p) => p.accountId))).map((a) => [a.id, a]));
  return principals.map((p) => sessionVerdict(accounts.get(p.accountId) ?? null, p));
}

/** The rule itself, on an account already read (null: it no longer exists). */
export function sessionVerdict(account: { status: string; credentialVersion: number } | null, principal: SmtpPrincipal): SmtpSessionCheck {
  if (!account) return { ok: false, reason: 'deleted' };
  if (account.status !== 'active') return { ok: false, reason: 'disabled' };
  if (account.credentialVersion !== principal.credentialVersion) return { ok: false, reason: 'credentials_changed' };
  return { ok: true };
}

function principalOf(a: { id: string; workspaceId: string; username: string; credentialVersion: number }): SmtpPrincipal {
  return { accountId: a.id, workspaceId: a.workspaceId, username: a.username, credentialVersion: a.credentialVersion };
}
