// Delivery rates people can act on, and the reputation guard. Per account over the last 30 days (later
// bounces and complaints included): delivery rate = delivered ÷ outcomes, bounce rate = bounced ÷ outcomes,
// complaint rate = complaints ÷ outcomes, where outcomes = delivered + bounced + failed. SES's figures are the
// defaults: warn at 5 % bounces or 0.1 % complaints, pause at 10 % or 0.5 %, once the account has at least a
// minimum volume of outcomes (a handful of messages says nothing about a rate).
//
// The guard keeps one flag state per workspace (kind 'reputation'): keys "<accountId>:warn" / ":pause" while an
// account is past a level, so a warning goes out once per episode; "<accountId>:expected" when someone clicked
// Expected on the warning, which keeps the guard from pausing that account until the episode ends (its rates
// fall back under the warn level).
import type { Actor } from './actor.ts';
import { disableAccount } from './accounts.ts';
import { recordChange } from './audit.ts';
import { DAY_MS, dayKey } from './clock.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { FlagRepository, FlagState } from './flag-ports.ts';
import { nextFlagState } from './flag-scans.ts';
import { diffFlagged } from './flags.ts';
import type { Account, ReputationSettings, Workspace } from './model.ts';
import { authorize } from './permissions.ts';
import type { LaterOutcomeRepository, ReportCounts } from './report-model.ts';
import { getWorkspaceOrThrow } from './workspaces.ts';

export const RATE_WINDOW_DAYS = 30;

export const DEFAULT_REPUTATION: ReputationSettings = {
  warnBounceRate: 0.05,
  warnComplaintRate: 0.001,
  pauseBounceRate: 0.1,
  pauseComplaintRate: 0.005,
  minVolume: 100,
  pause: true,
};

export function reputationSettings(ws: Pick<Workspace, 'reputation'>): ReputationSettings {
  return { ...DEFAULT_REPUTATION, ...(ws.reputation ?? {}) };
}

export interface AccountRates extends ReportCounts {
  days: number;
  /** null without any outcome in the window. */
  deliveryRate: number | null;
  bounceRate: number | null;
  complaintRate: number | null;
}

export function ratesOf(c: ReportCounts, days = RATE_WINDOW_DAYS): AccountRates {
  const outcomes = c.delivered + c.bounced + c.failed;
  const rate = (n: number) => (outcomes > 0 ? n / outcomes : null);
  return { ...c, days, deliveryRate: rate(c.delivered), bounceRate: rate(c.bounced), complaintRate: rate(c.complaints) };
}

const ZERO: ReportCounts = { delivered: 0, bounced: 0, failed: 0, complaints: 0 };

/** The last `days` UTC days' rates of each account (zeros for an account without traffic). */
export async function accountRates(
  later: Pick<LaterOutcomeRepository, 'reportCounts'>,
  accountIds: readonly string[],
  now: Date,
  days = RATE_WINDOW_DAYS,
): Promise<Map<string, AccountRates>> {
  const keys = Array.from({ length: days }, (_, i) => dayKey(new Date(now.getTime() - i * DAY_MS)));
  const counts = await later.reportCounts(accountIds, keys);
  return new Map(accountIds.map((id) => [id, ratesOf(counts.get(id) ?? ZERO, days)]));
}

export type ReputationLevel = 'ok' | 'warn' | 'pause';

export function reputationLevel(r: AccountRates, s: ReputationSettings): ReputationLevel {
  if (r.delivered + r.bounced + r.failed < s.minVolume) return 'ok';
  const b = r.bounceRate ?? 0;
  const c = r.complaintRate ?? 0;
  if (b >= s.pauseBounceRate || c >= s.pauseComplaintRate) return 'pause';
  if (b >= s.warnBounceRate || c >= s.warnComplaintRate) return 'warn';
  return 'ok';
}

export interface ReputationConcern {
  account: Account;
  rates: AccountRates;
  level: Exclude<ReputationLevel, 'ok'>;
  /** Someone clicked Expected in this episode: warn, never pause. */
  expected: boolean;
}

export interface ReputationFinding {
  workspace: Workspace;
  settings: ReputationSettings;
  previous: FlagState | null;
  next: FlagState;
  changed: boolean;
  concerns: ReputationConcern[];
  /** Accounts that reached a level they were not flagged at: these alert (and pause, at the pause level). */
  raised: ReputationConcern[];
}

const levelKey = (accountId: string, level: string) => `${accountId}:${level}`;

/** Findings of every workspace (or one). Reads only. */
export async function findReputationFlags(
  deps: { ctx: DomainContext; flags: FlagRepository; later: Pick<LaterOutcomeRepository, 'reportCounts'> },
  opts: { now: Date; workspaceId?: string },
): Promise<ReputationFinding[]> {
  const workspaces = opts.workspaceId ? [await getWorkspaceOrThrow(deps.ctx, opts.workspaceId)] : await deps.ctx.workspaces.list();
  const findings: ReputationFinding[] = [];
  for (const workspace of workspaces) {
    const settings = reputationSettings(workspace);
    const accounts = await deps.ctx.accounts.listByWorkspace(workspace.id);
    const rates = await accountRates(
      deps.later,
      accounts.map((a) => a.id),
      opts.now,
    );
    const previous = await deps.flags.get(workspace.id, 'reputation');
    const before = new Set(previous?.flagged ?? []);
    const concerns: ReputationConcern[] = [];
    const keys: string[] = [];
    for (const account of accounts) {
      const r = rates.get(account.id)!;
      const level = reputationLevel(r, settings);
      if (level === 'ok') continue;
      const expected = before.has(levelKey(account.id, 'expected'));
      concerns.push({ account, rates: r, level, expected });
      keys.push(levelKey(account.id, 'warn'));
      if (level === 'pause') keys.push(levelKey(account.id, 'pause'));
      if (expected) keys.push(levelKey(account.id, 'expected'));
    }
    const diff = diffFlagged(
      previous?.flagged ?? [],
      keys.map((id) => ({ id })),
    );
    const raisedKeys = new Set(diff.raised.map((r) => r.id));
    const raised = concerns.filter((c) => raisedKeys.has(levelKey(c.account.id, 'warn')) || raisedKeys.has(levelKey(c.account.id, 'pause')));
    const next = nextFlagState(previous, { workspaceId: workspace.id, kind: 'reputation', flagged: keys, now: opts.now, alertDue: raised.length > 0 });
    findings.push({ workspace, settings, previous, next, changed: next.fingerprint !== (previous?.fingerprint ?? ''), concerns, raised });
  }
  return findings.sort((a, b) => a.workspace.name.localeCompare(b.workspace.name));
}

export const percent = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(r < 0.01 ? 2 : 1)} %`);

/**
 * Stores the finding's flags (true for the one caller whose write stored them); audits each raised account
 * ('account.reputation') and pauses, with reason `reputation`, those at the pause level, unless the workspace
 * opted out or someone marked the episode Expected. Returns the names of the accounts it paused.
 */
export async function raiseReputationFlags(
  deps: { ctx: DomainContext; flags: FlagRepository },
  finding: ReputationFinding,
  actor: Actor,
): Promise<{ stored: boolean; paused: string[] }> {
  if (!finding.changed || !(await deps.flags.replace(finding.previous ? finding.previous.fingerprint : null, finding.next))) return { stored: false, paused: [] };
  const paused: string[] = [];
  for (const c of finding.raised) {
    const willPause = c.level === 'pause' && finding.settings.pause && !c.expected && c.account.status === 'active';
    await recordChange(deps.ctx, actor, 'account.reputation', finding.workspace.id, {
      account: c.account,
      details: { level: c.level, rates: { ...c.rates }, thresholds: finding.settings, paused: willPause },
    });
    if (!willPause) continue;
    // The workspace chose to be paused at this level: a system actor with the responder's right to disable.
    const system: Actor = { ...actor, roles: ['responder'] };
    const note = `bounce rate ${percent(c.rates.bounceRate)}, complaint rate ${percent(c.rates.complaintRate)} over ${c.rates.days} days`;
    await disableAccount(deps.ctx, system, finding.workspace.id, c.account.name, 'reputation', note).then(
      () => paused.push(c.account.name),
      (err: unknown) => {
        if (!(err instanceof DomainError && err.code === 'ACCOUNT.ALREADY_DISABLED')) throw err;
      },
    );
  }
  return { stored: true, paused };
}

/** "Expected" on a reputation warning: the guard does not pause the account until this episode ends. */
export async function markReputationExpected(deps: { ctx: DomainContext; flags: FlagRepository }, actor: Actor, workspaceId: string, accountName: string): Promise<Account> {
  authorize(actor, 'account.surge_snooze');
  const account = await deps.ctx.accounts.findByName(workspaceId, accountName);
  if (!account) throw new DomainError('ACCOUNT.NOT_FOUND', `No account "${accountName}".`, { name: accountName });
  for (let attempt = 0; attempt < 5; attempt++) {
    const state = await deps.flags.get(workspaceId, 'reputation');
    if (!state || !state.flagged.includes(levelKey(account.id, 'warn'))) {
      throw new DomainError('INPUT.INVALID', `"${account.name}" has no reputation warning open any more.`, { name: account.name });
    }
    if (state.flagged.includes(levelKey(account.id, 'expected'))) break;
    const next = nextFlagState(state, { workspaceId, kind: 'reputation', flagged: [...state.flagged, levelKey(account.id, 'expected')], now: deps.ctx.clock(), alertDue: false });
    if (await deps.flags.replace(state.fingerprint, next)) break;
  }
  await recordChange(deps.ctx, actor, 'account.reputation', workspaceId, { account, details: { expected: true } });
  return account;
}

/** `workspace set --reputation-…`: merged over what the workspace has; validated; audited. */
export async function setReputationSettings(ctx: DomainContext, actor: Actor, workspaceId: string, patch: Partial<ReputationSettings>): Promise<Workspace> {
  authorize(actor, 'workspace.manage');
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const merged = { ...(ws.reputation ?? {}), ...patch };
  const s = { ...DEFAULT_REPUTATION, ...merged };
  for (const k of ['warnBounceRate', 'warnComplaintRate', 'pauseBounceRate', 'pauseComplaintRate'] as const) {
    if (!Number.isFinite(s[k]) || s[k] <= 0 || s[k] > 1) throw new DomainError('INPUT.INVALID', `${k} must be a percentage above 0 and at most 100.`, { field: k });
  }
  if (s.warnBounceRate > s.pauseBounceRate || s.warnComplaintRate > s.pauseComplaintRate) {
    throw new DomainError('INPUT.INVALID', 'A warn level must not be above its pause level.', { field: 'reputation' });
  }
  if (!Number.isInteger(s.minVolume) || s.minVolume < 1) throw new DomainError('INPUT.INVALID', 'The minimum volume must be a whole number of at least 1.', { field: 'minVolume' });
  const updated = (await ctx.workspaces.update(workspaceId, { reputation: merged })) ?? ws;
  await recordChange(ctx, actor, 'workspace.updated', workspaceId, { details: { settings: ['reputation'], reputation: merged } });
  return updated;
}
