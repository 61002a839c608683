// Surge: an account behaving unlike its own history, the sign of a leaked password being used. Rules are
// pure functions over the account's hourly counts (one small document per account and hour, written by the
// relay); the use cases turn findings into flags (one alert per episode), audits, events and, when the
// workspace asks for it, an immediate disable.
import type { Actor } from './actor.ts';
import { disableAccount } from './accounts.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { FlagRepository, FlagState } from './flag-ports.ts';
import { diffFlagged } from './flags.ts';
import { nextFlagState } from './flag-scans.ts';
import { SURGE_SIGNALS, type Account, type SurgeSignal, type Workspace } from './model.ts';
import { authorize } from './permissions.ts';
import type { AccountHour, AccountHourRepository } from './surge-model.ts';

export const HOUR_MS = 3_600_000;

export type { AccountHour, AccountHourRepository } from './surge-model.ts';

export function hourOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

/** The network an address belongs to, for "a network the account never used": IPv4 /24, IPv6 /48. */
export function networkOf(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/i.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  const groups = expandIPv6(ip);
  return groups ? `${groups.slice(0, 3).join(':')}::/48` : ip;
}

function expandIPv6(ip: string): string[] | null {
  if (!ip.includes(':')) return null;
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  const all = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t];
  return all.length === 8 ? all.map((g) => (parseInt(g, 16) || 0).toString(16)) : null;
}

export interface SurgeThresholds {
  /** Volume: the last hour is over `factor` × the usual hourly peak… */
  factor: number;
  /** …and at least this many recipients. */
  minRecipients: number;
  /** Refused: at least this many refused in the last hour, and over `factor` × the usual refused peak. */
  minRefused: number;
  /** How far back "usual" looks. */
  historyDays: number;
}

export interface SurgeObservation {
  signal: SurgeSignal;
  /** What was seen, for people: "240 recipients in the last hour; usual peak 12 an hour (14 days)". */
  text: string;
  lastHour: number;
  usual: number;
  newNetworks?: string[];
}

/**
 * What the last hour of one account shows against its history. "The last hour" is the current clock hour plus
 * the part of the previous one still within 60 minutes (its count weighted by that part); "usual" is the
 * largest hour before those two within `historyDays`.
 */
export function observeSurge(hours: readonly AccountHour[], now: Date, t: SurgeThresholds): SurgeObservation[] {
  const current = hourOf(now).getTime();
  const previous = current - HOUR_MS;
  const weight = 1 - (now.getTime() - current) / HOUR_MS;
  const since = now.getTime() - t.historyDays * 24 * HOUR_MS;
  const recent = hours.filter((h) => h.hour.getTime() >= previous && h.hour.getTime() <= current);
  const history = hours.filter((h) => h.hour.getTime() < previous && h.hour.getTime() >= since);
  const last = (pick: (h: AccountHour) => number) => Math.round(recent.reduce((n, h) => n + pick(h) * (h.hour.getTime() === previous ? weight : 1), 0));
  const peak = (pick: (h: AccountHour) => number) => history.reduce((m, h) => Math.max(m, pick(h)), 0);
  const out: SurgeObservation[] = [];

  const sent = last((h) => h.recipients);
  const usualSent = peak((h) => h.recipients);
  if (sent >= t.minRecipients && sent > t.factor * usualSent) {
    out.push({
      signal: 'volume',
      lastHour: sent,
      usual: usualSent,
      text: `${sent} recipients in the last hour; its busiest hour in ${t.historyDays} days had ${usualSent}.`,
    });
  }

  // Only for an account with a past: a new account's first network is not news.
  const known = new Set(history.flatMap((h) => h.networks));
  if (known.size > 0) {
    const fresh = [...new Set(recent.filter((h) => h.recipients > 0).flatMap((h) => h.networks))].filter((n) => !known.has(n)).sort();
    if (fresh.length) {
      out.push({
        signal: 'network',
        lastHour: sent,
        usual: known.size,
        newNetworks: fresh,
        text: `sending from ${fresh.join(', ')}, a network it never sent from in ${t.historyDays} days (it used ${known.size} before).`,
      });
    }
  }

  const refused = last((h) => h.refused);
  const usualRefused = peak((h) => h.refused);
  if (refused >= t.minRefused && refused > t.factor * usualRefused) {
    out.push({
      signal: 'refused',
      lastHour: refused,
      usual: usualRefused,
      text: `${refused} refused recipients or senders in the last hour (rate limit, allowed senders, unusable addresses); at most ${usualRefused} an hour before.`,
    });
  }
  return out;
}

export function isSurgeSnoozed(a: Pick<Account, 'surgeSnoozes'>, signal: SurgeSignal, now: Date): boolean {
  const until = a.surgeSnoozes?.[signal];
  return until !== undefined && until.getTime() > now.getTime();
}

export interface SurgingAccount {
  account: Account;
  observations: SurgeObservation[];
}

export interface SurgeFinding {
  workspace: Workspace;
  previous: FlagState | null;
  next: FlagState;
  changed: boolean;
  /** Every account surging now (snoozed signals left out). */
  surging: SurgingAccount[];
  /** Accounts with a signal that was not flagged before: a new episode, these alert. */
  raised: SurgingAccount[];
}

/** Flag key of one signal of one account. */
const flagKey = (accountId: string, signal: SurgeSignal) => `${accountId}:${signal}`;

/** Surge findings of every workspace (or one). Reads only. */
export async function findSurgeFlags(
  deps: { ctx: DomainContext; flags: FlagRepository; accountHours: AccountHourRepository },
  opts: { thresholds: SurgeThresholds; now: Date; workspaceId?: string },
): Promise<SurgeFinding[]> {
  const { ctx, flags } = deps;
  const { now, thresholds } = opts;
  const hours = await deps.accountHours.listSince(new Date(now.getTime() - thresholds.historyDays * 24 * HOUR_MS - HOUR_MS), opts.workspaceId);
  const byAccount = new Map<string, AccountHour[]>();
  for (const h of hours) byAccount.set(h.accountId, [...(byAccount.get(h.accountId) ?? []), h]);
  const states = new Map((await flags.list('surge', opts.workspaceId)).map((s) => [s.workspaceId, s]));
  const workspaceIds = new Set([...hours.map((h) => h.workspaceId), ...[...states.values()].filter((s) => s.flagged.length).map((s) => s.workspaceId)]);
  const findings: SurgeFinding[] = [];
  for (const workspaceId of workspaceIds) {
    const workspace = await ctx.workspaces.findById(workspaceId);
    if (!workspace) continue;
    const accounts = await ctx.accounts.listByWorkspace(workspaceId);
    const surging: SurgingAccount[] = [];
    for (const account of accounts) {
      if (account.status !== 'active') continue;
      const observations = observeSurge(byAccount.get(account.id) ?? [], now, thresholds).filter((o) => !isSurgeSnoozed(account, o.signal, now));
      if (observations.length) surging.push({ account, observations });
    }
    const previous = states.get(workspaceId) ?? null;
    const keys = surging.flatMap((s) => s.observations.map((o) => flagKey(s.account.id, o.signal)));
    const diff = diffFlagged(
      previous?.flagged ?? [],
      keys.map((id) => ({ id })),
    );
    const raisedKeys = new Set(diff.raised.map((r) => r.id));
    const raised = surging
      .map((s) => ({ account: s.account, observations: s.observations.filter((o) => raisedKeys.has(flagKey(s.account.id, o.signal))) }))
      .filter((s) => s.observations.length > 0);
    const next = nextFlagState(previous, { workspaceId, kind: 'surge', flagged: keys, now, alertDue: raised.length > 0 });
    findings.push({ workspace, previous, next, changed: next.fingerprint !== (previous?.fingerprint ?? ''), surging, raised });
  }
  return findings.sort((a, b) => a.workspace.name.localeCompare(b.workspace.name));
}

/**
 * Stores the finding's flags; for each account with a new signal, audits and publishes 'account.surge' and,
 * when the workspace has auto-disable on, disables it. True for the one caller whose write stored the state.
 * Returns the names of the accounts it disabled.
 */
export async function raiseSurgeFlags(deps: { ctx: DomainContext; flags: FlagRepository }, finding: SurgeFinding, actor: Actor): Promise<{ stored: boolean; disabled: string[] }> {
  if (!finding.changed || !(await deps.flags.replace(finding.previous ? finding.previous.fingerprint : null, finding.next))) {
    return { stored: false, disabled: [] };
  }
  const disabled: string[] = [];
  for (const s of finding.raised) {
    const autoDisable = finding.workspace.surgeAutoDisable === true;
    await recordChange(deps.ctx, actor, 'account.surge', finding.workspace.id, {
      account: s.account,
      details: {
        signals: s.observations.map((o) => ({ signal: o.signal, lastHour: o.lastHour, usual: o.usual, text: o.text, ...(o.newNetworks ? { newNetworks: o.newNetworks } : {}) })),
        autoDisable,
      },
    });
    if (autoDisable) {
      // The workspace chose to act first: a system actor with the responder's right to disable.
      const system: Actor = { ...actor, roles: ['responder'] };
      const why = s.observations.map((o) => o.signal).join(', ');
      await disableAccount(deps.ctx, system, finding.workspace.id, s.account.name, 'suspected_compromise', `surge: ${why}`).then(
        () => disabled.push(s.account.name),
        (err: unknown) => {
          if (!(err instanceof DomainError && err.code === 'ACCOUNT.ALREADY_DISABLED')) throw err;
        },
      );
    }
  }
  return { stored: true, disabled };
}

/** "Expected" on a surge alert: these signals of the account are not flagged again until `hours` from now. */
export async function snoozeSurgeSignals(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  name: string,
  signals: readonly SurgeSignal[],
  hours: number,
): Promise<{ account: Account; until: Date }> {
  authorize(actor, 'account.surge_snooze');
  const valid = signals.filter((s) => (SURGE_SIGNALS as readonly string[]).includes(s));
  if (valid.length === 0) throw new DomainError('INPUT.INVALID', `Signals are ${SURGE_SIGNALS.join(', ')}.`);
  let account = await findAccountOrThrow(ctx, workspaceId, name);
  const until = new Date(ctx.clock().getTime() + hours * HOUR_MS);
  for (const signal of valid) account = (await ctx.accounts.setSurgeSnooze(account.id, signal, until)) ?? account;
  await recordChange(ctx, actor, 'account.surge_snoozed', workspaceId, { account, details: { signals: valid, until: until.toISOString() } });
  return { account, until };
}
