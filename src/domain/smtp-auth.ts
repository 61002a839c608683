// The relay's authentication rule: who may send, checked on every AUTH and again before every message.
import type { DomainContext } from './context.ts';
import { addressAllowed } from './allowed-networks.ts';
import { dummyPasswordHash, verifyPassword } from './credentials.ts';
import type { Account, AccountWithSecret, SendingPolicy } from './model.ts';
import type { AccountRepository } from './ports.ts';

/** What AUTH reads and writes: the account by username, and the previous password's last use. */
export interface SmtpAuthContext {
  accounts: Pick<AccountRepository, 'findByUsernameWithSecret' | 'markPreviousPasswordUsed'>;
  bcryptCost: DomainContext['bcryptCost'];
  clock: DomainContext['clock'];
}

/** Who an SMTP session sends as, from a successful AUTH until the session ends. */
export interface SmtpPrincipal {
  accountId: string;
  workspaceId: string;
  username: string;
  /**
   * The credential version of the password the session authenticated with; rotate, disable, enable and delete
   * bump the account's. A previous password kept by a rotate keeps its own (older) version until it expires.
   */
  credentialVersion: number;
  /** Allowed senders and rate limit, as read at AUTH and refreshed at every MAIL FROM. */
  policy: SendingPolicy;
}

/**
 * Why an AUTH failed. For logs and metrics only: the client gets the same answer, after the same work
 * (one account read and one bcrypt check), whatever the reason.
 */
export type SmtpAuthFailure = 'unknown_user' | 'bad_password' | 'disabled' | 'malformed' | 'network';

export type SmtpAuthResult =
  | { ok: true; principal: SmtpPrincipal; cached: boolean }
  | { ok: false; reason: SmtpAuthFailure; username: string; /** 'network': the right password from outside the allowed networks. */ account?: Account };

/** A credential verified earlier: the account it belongs to and the credential version of that password. */
export interface VerifiedCredential {
  accountId: string;
  credentialVersion: number;
}

/**
 * Whether a password of credential version `version` still opens the account: it is the current password, or
 * the previous one kept by a rotate and not yet expired.
 */
export function credentialVersionValid(account: Pick<Account, 'status' | 'credentialVersion' | 'previousPassword'>, version: number, now: Date): boolean {
  if (account.status !== 'active') return false;
  if (version === account.credentialVersion) return true;
  const prev = account.previousPassword;
  return prev !== undefined && prev.credentialVersion === version && prev.validUntil.getTime() > now.getTime();
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
  ctx: SmtpAuthContext,
  username: string,
  password: string,
  cache?: VerifiedCredentialCache,
  /** The client's address, checked against the account's allowed networks once the password matched. */
  opts: { clientAddress?: string } = {},
): Promise<SmtpAuthResult> {
  if (!username || !password || username.length > MAX_USERNAME_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await dummyPasswordHash(ctx.bcryptCost));
    return { ok: false, reason: 'malformed', username };
  }
  const account = await ctx.accounts.findByUsernameWithSecret(username);
  const now = ctx.clock();
  if (account && account.status === 'active' && cache) {
    const known = cache.get(username, password);
    if (known && known.accountId === account.id && credentialVersionValid(account, known.credentialVersion, now)) {
      if (!networkAllowed(account, opts)) return refusedNetwork(account, username);
      if (known.credentialVersion !== account.credentialVersion) await notePreviousPasswordUse(ctx, account, now);
      return { ok: true, principal: principalOf(account, known.credentialVersion), cached: true };
    }
  }
  const check = async () => verifyPassword(password, account?.passwordHash ?? (await dummyPasswordHash(ctx.bcryptCost)));
  // Shared on every path (unknown, disabled and deleted too), or concurrent identical tries would tell
  // an existing account (one check) from a missing one (one check each) by timing.
  const matches = cache?.shareCheck
    ? await cache.shareCheck(username, password, { accountId: account?.id ?? '', credentialVersion: account?.credentialVersion ?? 0 }, check)
    : await check();
  if (!account) return { ok: false, reason: 'unknown_user', username };
  let version = account.credentialVersion;
  if (!matches) {
    // During a rotate's overlap the previous password opens the account too (a second bcrypt check, only for
    // accounts in that window and only when the current password did not match).
    const prev = account.previousPassword;
    const previousMatches =
      prev !== undefined &&
      account.previousPasswordHash !== undefined &&
      prev.validUntil.getTime() > now.getTime() &&
      (await verifyPassword(password, account.previousPasswordHash));
    if (!previousMatches) return { ok: false, reason: 'bad_password', username };
    version = prev.credentialVersion;
  }
  if (account.status !== 'active') return { ok: false, reason: 'disabled', username };
  // After the password, with the same answer to the client as a wrong one: no oracle for where it is valid.
  if (!networkAllowed(account, opts)) return refusedNetwork(account, username);
  if (version !== account.credentialVersion) await notePreviousPasswordUse(ctx, account, now);
  cache?.set(username, password, { accountId: account.id, credentialVersion: version });
  return { ok: true, principal: principalOf(account, version), cached: false };
}

function networkAllowed(account: Pick<Account, 'allowedNetworks'>, opts: { clientAddress?: string }): boolean {
  return opts.clientAddress === undefined || addressAllowed(account.allowedNetworks, opts.clientAddress);
}

function refusedNetwork(account: AccountWithSecret, username: string): SmtpAuthResult {
  const { passwordHash: _h, previousPasswordHash: _p, ...rest } = account;
  return { ok: false, reason: 'network', username, account: rest };
}

/** At most one write a minute per account: "last used" of the old password is for people, not to the second. */
async function notePreviousPasswordUse(ctx: SmtpAuthContext, account: Account, now: Date): Promise<void> {
  const last = account.previousPassword?.lastUsedAt?.getTime() ?? 0;
  if (now.getTime() - last < 60_000) return;
  await ctx.accounts.markPreviousPasswordUsed(account.id, now).catch(() => undefined);
}

export type SmtpSessionCheck = { ok: true; policy: SendingPolicy } | { ok: false; reason: 'deleted' | 'disabled' | 'credentials_changed' };

/**
 * Whether an authenticated session may start another message: the account still exists, is active and the
 * password the session used is still valid (the current one, or a previous one before its deadline). One read
 * by id, done before every message; it also brings the account's current sending policy.
 */
export async function checkSmtpSession(ctx: DomainContext, principal: SmtpPrincipal): Promise<SmtpSessionCheck> {
  return sessionVerdict(await ctx.accounts.findById(principal.accountId), principal, ctx.clock());
}

/** The same rule for the sessions of a whole commit batch: one read for all their accounts. */
export async function checkSmtpSessions(ctx: DomainContext, principals: readonly SmtpPrincipal[]): Promise<SmtpSessionCheck[]> {
  const accounts = new Map((await ctx.accounts.findManyById(principals.map((p) => p.accountId))).map((a) => [a.id, a]));
  const now = ctx.clock();
  return principals.map((p) => sessionVerdict(accounts.get(p.accountId) ?? null, p, now));
}

/** What the session rule needs of an account (the MAIL FROM check keeps this much for a moment). */
export type SessionAccountState = Pick<Account, 'status' | 'credentialVersion' | 'previousPassword' | 'allowedSenders' | 'rateLimit'>;

/** The rule itself, on an account already read (null: it no longer exists). */
export function sessionVerdict(account: SessionAccountState | null, principal: SmtpPrincipal, now: Date): SmtpSessionCheck {
  if (!account) return { ok: false, reason: 'deleted' };
  if (account.status !== 'active') return { ok: false, reason: 'disabled' };
  if (!credentialVersionValid(account, principal.credentialVersion, now)) return { ok: false, reason: 'credentials_changed' };
  return { ok: true, policy: sendingPolicyOf(account) };
}

export function sendingPolicyOf(a: Pick<Account, 'allowedSenders' | 'rateLimit'>): SendingPolicy {
  return a.rateLimit ? { allowedSenders: a.allowedSenders, rateLimit: a.rateLimit } : { allowedSenders: a.allowedSenders };
}

function principalOf(a: Account, credentialVersion: number): SmtpPrincipal {
  return { accountId: a.id, workspaceId: a.workspaceId, username: a.username, credentialVersion, policy: sendingPolicyOf(a) };
}
