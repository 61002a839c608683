// Use cases for SMTP accounts. Slack, the CLI, webhooks and jobs all call these functions.
import type { Actor } from './actor.ts';
import { describeActor } from './actor.ts';
import { activityLabel, type ActivityLabel } from './activity.ts';
import { validateAccountName } from './account-name.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import { recordChange } from './audit.ts';
import { DAY_MS, monthKey } from './clock.ts';
import type { DomainContext } from './context.ts';
import { generatePassword, generateUsername, hashPassword } from './credentials.ts';
import { DomainError } from './errors.ts';
import { DISABLE_REASONS, type Account, type DisableReason } from './model.ts';
import { authorize } from './permissions.ts';
import { getPlan, nextPlanUp } from './plans.ts';
import { getWorkspaceOrThrow } from './workspaces.ts';

/** An account as every list shows it. */
export interface AccountView extends Account {
  sentThisMonth: number;
  /** delivered ÷ (delivered + bounced + failed); null before any outcome. */
  deliveryRate: number | null;
  /** Active, Quiet, Idle or Never used (activity.ts). */
  activity: ActivityLabel;
}

/** The password is here and nowhere else: the caller shows it once to the requester and drops it. */
export interface IssuedCredentials {
  account: Account;
  username: string;
  password: string;
}

export function deliveryRate(c: Account['counters']): number | null {
  const done = c.delivered + c.bounced + c.failed;
  return done === 0 ? null : c.delivered / done;
}

export async function createAccount(ctx: DomainContext, actor: Actor, workspaceId: string, rawName: string | undefined): Promise<IssuedCredentials> {
  authorize(actor, 'account.create');
  const name = validateAccountName(rawName);
  const workspace = await getWorkspaceOrThrow(ctx, workspaceId);
  const plan = getPlan(workspace.planId);

  if (await ctx.accounts.findByName(workspaceId, name)) throw nameTaken(name);
  if (!(await ctx.workspaces.takeSlot(workspaceId, plan.accountSlots))) throw noFreeSlot(plan.id, plan.accountSlots);

  try {
    const username = await claimNewUsername(ctx, workspaceId);
    const password = generatePassword(username);
    const passwordHash = await hashPassword(password, ctx.bcryptCost);
    const account = await ctx.accounts.insert({
      workspaceId,
      name,
      username,
      passwordHash,
      createdAt: ctx.clock(),
      createdBy: describeActor(actor),
    });
    await recordChange(ctx, actor, 'account.created', workspaceId, { account });
    return { account, username, password };
  } catch (err) {
    await ctx.workspaces.releaseSlot(workspaceId);
    throw err;
  }
}

/** The longest a rotate may keep the old password working. */
export const MAX_KEEP_OLD_MS = 7 * DAY_MS;

export interface RotateOptions {
  /**
   * Keep the old password valid this long (at most 7 days), so an application can be switched without a failed
   * send. Absent or 0: the old password stops at once. Refused for webhook rotations (incident tooling rotates
   * because a password leaked) and for anyone who is not an admin.
   */
  keepOldMs?: number;
}

export async function rotateAccountPassword(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  name: string,
  note?: string,
  opts: RotateOptions = {},
): Promise<IssuedCredentials> {
  authorize(actor, 'account.rotate');
  const keepOldMs = opts.keepOldMs ?? 0;
  if (keepOldMs < 0 || keepOldMs > MAX_KEEP_OLD_MS || !Number.isFinite(keepOldMs)) {
    throw new DomainError('INPUT.INVALID', 'The old password can be kept for at most 7 days.', { keepOldMs });
  }
  if (keepOldMs > 0 && (actor.source === 'webhook' || !actor.roles.includes('admin'))) {
    throw new DomainError('INPUT.INVALID', 'Only an admin rotating from Slack or the CLI may keep the old password; this rotate ends it at once.', { keepOldMs });
  }
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const password = generatePassword(account.username);
  const validUntil = keepOldMs > 0 ? new Date(ctx.clock().getTime() + keepOldMs) : undefined;
  // Keeping the old password needs an active account: a disable ended every password, and must stay final.
  if (validUntil && account.status !== 'active') {
    throw new DomainError('INPUT.INVALID', `"${account.name}" is disabled: its old password cannot be kept.`, { name: account.name });
  }
  // A leaked password is never kept alive (src/domain/leaks.ts).
  if (validUntil && account.passwordLeak) {
    throw new DomainError('ACCOUNT.PASSWORD_LEAKED', `The password of "${account.name}" was reported leaked: it cannot be kept.`, { name: account.name });
  }
  const hash = await hashPassword(password, ctx.bcryptCost);
  const updated = await ctx.accounts.setPasswordHash(account.id, hash, validUntil ? { validUntil } : undefined, ctx.clock());
  if (!updated) throw notFound(name);
  await recordChange(ctx, actor, 'account.rotated', workspaceId, {
    account: updated,
    note: cleanNote(note),
    details: validUntil ? { oldPasswordValidUntil: validUntil.toISOString() } : undefined,
  });
  return { account: updated, username: updated.username, password };
}

export async function disableAccount(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, reason: string, note?: string): Promise<Account> {
  return disableAccountWithReason(ctx, actor, workspaceId, name, parseDisableReason(reason), note);
}

/** The disable itself, with a reason already parsed: also one people cannot choose ('leaked', by src/domain/leaks.ts). */
export async function disableAccountWithReason(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, why: DisableReason, note?: string): Promise<Account> {
  authorize(actor, 'account.disable');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  if (account.status === 'disabled') {
    throw new DomainError('ACCOUNT.ALREADY_DISABLED', `"${account.name}" is already disabled.`, { name: account.name });
  }
  const disabledNote = cleanNote(note);
  const disabled: NonNullable<Account['disabled']> = { by: describeActor(actor), at: ctx.clock(), reason: why };
  if (disabledNote) disabled.note = disabledNote;
  const updated = await ctx.accounts.setStatus(account.id, 'disabled', disabled);
  if (!updated) throw notFound(name);
  await recordChange(ctx, actor, 'account.disabled', workspaceId, { account: updated, reason: why, note: disabledNote });
  return updated;
}

export async function enableAccount(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, note?: string): Promise<Account> {
  authorize(actor, 'account.enable');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  if (account.status === 'active') {
    throw new DomainError('ACCOUNT.ALREADY_ACTIVE', `"${account.name}" is already active.`, { name: account.name });
  }
  if (account.passwordLeak) {
    // Enabling would bring the leaked password back to life: a rotate first (src/domain/leaks.ts).
    throw new DomainError('ACCOUNT.PASSWORD_LEAKED', `The password of "${account.name}" was reported leaked: rotate it before enabling the account.`, {
      name: account.name,
      leakedAt: account.passwordLeak.at.toISOString(),
    });
  }
  const updated = await ctx.accounts.setStatus(account.id, 'active', null);
  if (!updated) throw notFound(name);
  await recordChange(ctx, actor, 'account.enabled', workspaceId, { account: updated, note: cleanNote(note) });
  return updated;
}

export interface DeletePreview {
  account: AccountView;
  queuedMessages: number;
  usedRecently: boolean;
  warnings: string[];
}

/** What the delete confirmation shows before anyone types the name. */
export async function previewAccountDeletion(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<DeletePreview> {
  authorize(actor, 'account.delete');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const [view] = await toViews(ctx, workspaceId, [account]);
  const queuedMessages = await ctx.queue.countQueuedForAccount(account.id);
  const now = ctx.clock().getTime();
  const usedRecently = account.lastUsedAt !== undefined && now - account.lastUsedAt.getTime() < ctx.idleAfterDays * DAY_MS;
  const warnings: string[] = [];
  if (usedRecently) {
    warnings.push(`It sent mail within the last ${ctx.idleAfterDays} days: an application may still depend on it.`);
  }
  if (queuedMessages > 0) {
    warnings.push(`${queuedMessages} message(s) are still queued for it; deleting now needs --force and they may never be delivered.`);
  }
  return { account: view!, queuedMessages, usedRecently, warnings };
}

export async function deleteAccount(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, opts: { confirmName: string; force?: boolean }): Promise<Account> {
  authorize(actor, 'account.delete');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  if (opts.confirmName !== account.name) {
    throw new DomainError('ACCOUNT.CONFIRMATION_MISMATCH', `Type the account's exact name, "${account.name}", to delete it.`, { expected: account.name });
  }
  const queued = await ctx.queue.countQueuedForAccount(account.id);
  if (queued > 0 && !opts.force) {
    throw new DomainError('ACCOUNT.HAS_QUEUED_MAIL', `"${account.name}" still has ${queued} queued message(s). Wait for them to be delivered, or force the delete.`, { queued });
  }
  if (!(await ctx.accounts.delete(account.id))) throw notFound(name);
  await ctx.workspaces.releaseSlot(workspaceId);
  await recordChange(ctx, actor, 'account.deleted', workspaceId, {
    account,
    details: queued > 0 ? { forced: true, queuedMessages: queued } : undefined,
  });
  return account;
}

/** "Keep" on an idle alert: snoozes the idle flag for `days`. */
export async function keepIdleAccount(ctx: DomainContext, actor: Actor, workspaceId: string, name: string, days: number): Promise<Account> {
  authorize(actor, 'account.keep');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const until = new Date(ctx.clock().getTime() + days * DAY_MS);
  const updated = await ctx.accounts.setIdleSnooze(account.id, until);
  if (!updated) throw notFound(name);
  await recordChange(ctx, actor, 'account.kept', workspaceId, { account: updated, details: { snoozedUntil: until.toISOString() } });
  return updated;
}

export interface ListOptions {
  /** Only accounts with no send for at least this many days (never used: counted from creation). */
  idleDays?: number;
  sort?: 'name' | 'created' | 'last-used';
}

export async function listAccounts(ctx: DomainContext, actor: Actor, workspaceId: string, opts: ListOptions = {}): Promise<AccountView[]> {
  authorize(actor, 'account.list');
  let accounts = await ctx.accounts.listByWorkspace(workspaceId);
  if (opts.idleDays !== undefined) {
    const cutoff = ctx.clock().getTime() - opts.idleDays * DAY_MS;
    accounts = accounts.filter((a) => lastActivity(a).getTime() <= cutoff);
  }
  const views = await toViews(ctx, workspaceId, accounts);
  const by = opts.sort ?? (opts.idleDays !== undefined ? 'last-used' : 'name');
  return views.sort((a, b) => {
    if (by === 'created') return a.createdAt.getTime() - b.createdAt.getTime();
    if (by === 'last-used') return lastActivity(a).getTime() - lastActivity(b).getTime() || a.name.localeCompare(b.name);
    return a.name.localeCompare(b.name, 'en', { sensitivity: 'base' });
  });
}

export async function showAccount(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<AccountView & { queuedMessages: number }> {
  authorize(actor, 'account.show');
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  const [view] = await toViews(ctx, workspaceId, [account]);
  return { ...view!, queuedMessages: await ctx.queue.countQueuedForAccount(account.id) };
}

/** When the account last sent, or when it was created if it never did. */
export function lastActivity(a: Pick<Account, 'lastUsedAt' | 'createdAt'>): Date {
  return a.lastUsedAt ?? a.createdAt;
}

async function toViews(ctx: DomainContext, workspaceId: string, accounts: Account[]): Promise<AccountView[]> {
  const now = ctx.clock();
  const months = await ctx.usage.accountMonths(workspaceId, monthKey(now));
  return accounts.map((a) => ({
    ...a,
    sentThisMonth: months.get(a.id)?.sent ?? 0,
    deliveryRate: deliveryRate(a.counters),
    activity: activityLabel(a, now, ctx.idleAfterDays),
  }));
}

async function claimNewUsername(ctx: DomainContext, workspaceId: string): Promise<string> {
  for (let i = 0; i < 8; i++) {
    const username = generateUsername();
    if (await ctx.accounts.claimUsername(username, workspaceId, ctx.clock())) return username;
  }
  throw new Error('could not generate a unique username after 8 tries');
}

export function parseDisableReason(input: string): DisableReason {
  const key = input
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  const aliases: Record<string, DisableReason> = { compromise: 'suspected_compromise', compromised: 'suspected_compromise', decommission: 'decommissioning' };
  // `reputation` is the reputation guard's (and its Pause now button's); accepted, though no form offers it.
  const reason = (DISABLE_REASONS as readonly string[]).includes(key) || key === 'reputation' ? (key as DisableReason) : aliases[key];
  if (!reason) {
    throw new DomainError('ACCOUNT.REASON_INVALID', `Reason must be one of: ${DISABLE_REASONS.join(', ')}.`, {
      reasons: DISABLE_REASONS,
    });
  }
  return reason;
}

function nameTaken(name: string): DomainError {
  return new DomainError('ACCOUNT.NAME_TAKEN', `An account named "${name}" already exists in this workspace.`, { name });
}

/** A free-text note for the audit (why a change was made): trimmed, at most 500 characters, absent when empty. */
function cleanNote(note: string | undefined): string | undefined {
  return note?.trim().slice(0, 500) || undefined;
}

function notFound(name: string): DomainError {
  return new DomainError('ACCOUNT.NOT_FOUND', `No account named "${name}".`, { name });
}

function noFreeSlot(planId: string, slots: number): DomainError {
  const next = nextPlanUp(planId);
  const upgrade = next ? ` or upgrade to the ${next.id} plan (${next.accountSlots} accounts)` : '';
  return new DomainError('PLAN.NO_FREE_SLOT', `All ${slots} account slots of the ${planId} plan are used. Delete an account you no longer need${upgrade}.`, {
    plan: planId,
    slots,
    nextPlan: next?.id,
  });
}

export { nameTaken as accountNameTakenError };
