// A leaked password reported by a secret scanner (GitHub's secret-scanning partner alerts through
// POST /webhooks/secret-scanning, or `smtpdesk accounts report-leak`). Every token is checked before anything
// happens, cheapest first: its format and checksum (offline), then the account its id names (one read by
// key), then whether it is that account's live password (bcrypt). Only a live password runs the workspace's
// leak policy (disable, the default, or rotate), is marked so that enabling waits for a rotate, is audited and
// published as `account.leaked` (the alert channel with Rotate and Disable buttons, outbound webhooks).
import type { Actor } from './actor.ts';
import { disableAccountWithReason, rotateAccountPassword } from './accounts.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { effectiveCredentialPolicy, type LeakPolicy } from './credential-policy.ts';
import { verifyPassword } from './credentials.ts';
import { isDomainError } from './errors.ts';
import type { Account, AccountWithSecret, PasswordLeak, Workspace } from './model.ts';
import { checkPasswordToken } from './password-format.ts';
import { authorize } from './permissions.ts';

export interface LeakReport {
  token: string;
  /** The scanner's name for the token type (GitHub: the type we registered). */
  type?: string;
  /** Where it was found: a URL (commit, gist, issue…). */
  url?: string;
  /** Where it was found: content, commit, gist, issue… */
  source?: string;
}

export type FalsePositiveReason = 'format' | 'checksum' | 'unknown_account' | 'not_live';

export type LeakOutcome =
  | { label: 'false_positive'; reason: FalsePositiveReason }
  | { label: 'true_positive'; account: Account; workspace: Workspace; policy: LeakPolicy; action: 'disabled' | 'rotated' | 'already_disabled' };

/** Longest url/source/type kept from a report (they are shown in Slack and the audit, never trusted). */
const FIELD_MAX = 500;

function clean(v: string | undefined): string | undefined {
  // eslint-disable-next-line no-control-regex
  const s = v?.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return s ? s.slice(0, FIELD_MAX) : undefined;
}

/** Whether `token` opens the account now: its current password, or a previous one still inside its window. */
async function isLivePassword(account: AccountWithSecret, token: string, now: Date): Promise<boolean> {
  if (await verifyPassword(token, account.passwordHash)) return true;
  const prev = account.previousPassword;
  return prev !== undefined && account.previousPasswordHash !== undefined && prev.validUntil.getTime() > now.getTime() && verifyPassword(token, account.previousPasswordHash);
}

/**
 * Checks one reported token and, when it is a live password, contains it. `reporter` is who reported it (the
 * scanner's integration, the CLI operator): it needs the right to report a leak; the policy then runs with
 * the workspace's authority (it chose the policy), audited under the reporter's name.
 */
export async function handleLeakReport(ctx: DomainContext, reporter: Actor, report: LeakReport): Promise<LeakOutcome> {
  authorize(reporter, 'account.report_leak');
  const check = checkPasswordToken(report.token);
  if (!check.ok) return { label: 'false_positive', reason: check.reason };
  const found = await ctx.accounts.findByUsernameWithSecret(check.username);
  if (!found) return { label: 'false_positive', reason: 'unknown_account' };
  const now = ctx.clock();
  if (!(await isLivePassword(found, report.token, now))) return { label: 'false_positive', reason: 'not_live' };

  const workspace = await ctx.workspaces.findById(found.workspaceId);
  if (!workspace) return { label: 'false_positive', reason: 'unknown_account' };
  const { passwordHash: _h, previousPasswordHash: _p, ...account } = found;
  const policy = effectiveCredentialPolicy(workspace).onLeak;
  const leak: PasswordLeak = { at: now };
  const url = clean(report.url);
  const source = clean(report.source);
  if (url) leak.url = url;
  if (source) leak.source = source;
  const where = [source, url].filter(Boolean).join(' at ') || 'a leak report';
  const policyActor: Actor = { ...reporter, roles: ['admin'] };

  let action: 'disabled' | 'rotated' | 'already_disabled';
  let after: Account;
  if (policy === 'rotate') {
    // The new password is shown to no one: an admin rotates again (the alert's Rotate button) to get one.
    after = (await rotateAccountPassword(ctx, policyActor, workspace.id, account.name, `password leaked: ${where}`)).account;
    action = 'rotated';
  } else {
    after = (await ctx.accounts.markPasswordLeaked(account.id, leak)) ?? account;
    if (after.status === 'active') {
      try {
        after = await disableAccountWithReason(ctx, policyActor, workspace.id, account.name, 'leaked', `password leaked: ${where}`);
        action = 'disabled';
      } catch (err) {
        // Two reports of one token at once: the other one disabled it.
        if (!isDomainError(err, 'ACCOUNT.ALREADY_DISABLED')) throw err;
        action = 'already_disabled';
      }
    } else action = 'already_disabled';
  }
  const details: Record<string, unknown> = { policy, action, ...(url ? { url } : {}), ...(source ? { source } : {}) };
  const type = clean(report.type);
  if (type) details.type = type;
  await recordChange(ctx, reporter, 'account.leaked', workspace.id, { account: after, details });
  return { label: 'true_positive', account: after, workspace, policy, action };
}
