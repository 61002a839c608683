// Rules of the scheduled flags: which account is idle, when a plan is near its limits, which accounts look
// like the same purpose, and when a change of flags deserves an alert. Pure functions: no I/O, no clock.
import type { Account } from './model.ts';
import { DAY_MS } from './clock.ts';
import { lastActivity } from './accounts.ts';
import type { Plan } from './plans.ts';

export type FlagKind = 'idle-accounts' | 'plan-limits' | 'surge' | 'credential-hygiene' | 'reputation';

/** What a flag rule needs of an account. */
export type FlagAccount = Pick<Account, 'id' | 'workspaceId' | 'name' | 'username' | 'status' | 'createdAt' | 'lastUsedAt' | 'idleSnoozedUntil'> & {
  totalSent: number;
};

/** An account with no send since this instant (never used: created before it) is idle. */
export function idleCutoff(now: Date, idleAfterDays: number): Date {
  return new Date(now.getTime() - idleAfterDays * DAY_MS);
}

/** Whole days since the account last sent (or was created, if it never sent). */
export function idleDays(a: Pick<Account, 'lastUsedAt' | 'createdAt'>, now: Date): number {
  return Math.floor((now.getTime() - lastActivity(a).getTime()) / DAY_MS);
}

export function isSnoozed(a: Pick<Account, 'idleSnoozedUntil'>, now: Date): boolean {
  return a.idleSnoozedUntil !== undefined && a.idleSnoozedUntil.getTime() > now.getTime();
}

/** No send for `idleAfterDays` days or more (never used: counted from creation), and not snoozed by "Keep". */
export function isIdle(a: Pick<Account, 'lastUsedAt' | 'createdAt' | 'idleSnoozedUntil'>, now: Date, idleAfterDays: number): boolean {
  return lastActivity(a).getTime() <= idleCutoff(now, idleAfterDays).getTime() && !isSnoozed(a, now);
}

// ---------------------------------------------------------------------------------------------------------
// Plan limits

export type SlotLevel = 'ok' | 'near' | 'full';

export interface PlanLimitThresholds {
  /** Slots: near at or above this percentage of the plan's slots, or when one slot is left. */
  slotsNearLimitPercent: number;
  /** Emails this month: each percentage is a level (e.g. 80 and 100). */
  quotaNearLimitPercents: readonly number[];
}

export interface PlanLimitStatus {
  month: string;
  slots: { used: number; limit: number; free: number; percent: number; level: SlotLevel };
  /** `threshold`: the highest configured percentage reached, or null below all of them. */
  quota: { used: number; limit: number; percent: number; threshold: number | null };
  nearLimit: boolean;
}

export function slotLevel(used: number, limit: number, nearPercent: number): SlotLevel {
  if (used >= limit) return 'full';
  if (limit - used <= 1 || (used / limit) * 100 >= nearPercent) return 'near';
  return 'ok';
}

export function quotaThreshold(used: number, quota: number, percents: readonly number[]): number | null {
  let reached: number | null = null;
  for (const p of percents) if (used * 100 >= p * quota && (reached === null || p > reached)) reached = p;
  return reached;
}

export function planLimitStatus(plan: Plan, usage: { slotsUsed: number; emailsThisMonth: number; month: string }, t: PlanLimitThresholds): PlanLimitStatus {
  const level = slotLevel(usage.slotsUsed, plan.accountSlots, t.slotsNearLimitPercent);
  const threshold = quotaThreshold(usage.emailsThisMonth, plan.monthlyEmails, t.quotaNearLimitPercents);
  return {
    month: usage.month,
    slots: {
      used: usage.slotsUsed,
      limit: plan.accountSlots,
      free: Math.max(0, plan.accountSlots - usage.slotsUsed),
      percent: percentOf(usage.slotsUsed, plan.accountSlots),
      level,
    },
    quota: {
      used: usage.emailsThisMonth,
      limit: plan.monthlyEmails,
      percent: percentOf(usage.emailsThisMonth, plan.monthlyEmails),
      threshold,
    },
    nearLimit: level !== 'ok' || threshold !== null,
  };
}

function percentOf(used: number, total: number): number {
  return total > 0 ? Math.floor((used / total) * 1000) / 10 : 0;
}

/**
 * The flags a plan status raises, as stable keys: "slots:near", "slots:full", "quota:80@2026-11".
 * The month is part of a quota key: a new month starts from zero, so its 80 % is a new flag.
 */
export function planFlagKeys(s: PlanLimitStatus): string[] {
  const keys: string[] = [];
  if (s.slots.level !== 'ok') keys.push(`slots:${s.slots.level}`);
  if (s.quota.threshold !== null) keys.push(`quota:${s.quota.threshold}@${s.month}`);
  return keys;
}

const SLOT_RANK: Record<SlotLevel, number> = { ok: 0, near: 1, full: 2 };

function planRanks(keys: readonly string[]): { slots: number; quota: number; month: string | null } {
  let slots = 0;
  let quota = 0;
  let month: string | null = null;
  for (const k of keys) {
    const s = /^slots:(near|full)$/.exec(k);
    if (s) slots = Math.max(slots, SLOT_RANK[s[1] as SlotLevel]);
    const q = /^quota:(\d+(?:\.\d+)?)@(\d{4}-\d{2})$/.exec(k);
    if (q) {
      quota = Math.max(quota, Number(q[1]));
      month = q[2]!;
    }
  }
  return { slots, quota, month };
}

/** An alert is due when slots or emails reached a higher level than last time; going down never alerts. */
export function planAlertDue(previous: readonly string[], current: readonly string[]): boolean {
  const before = planRanks(previous);
  const now = planRanks(current);
  const quotaBefore = before.month === now.month ? before.quota : 0;
  return now.slots > before.slots || now.quota > quotaBefore;
}

// ---------------------------------------------------------------------------------------------------------
// Idle flags

export interface FlagDiff<T> {
  /** Flagged now and not before: these alert. */
  raised: T[];
  /** Still flagged. */
  kept: T[];
  /** Flagged before and not now: the condition ended, so the flag clears itself. */
  cleared: string[];
}

export function diffFlagged<T extends { id: string }>(previous: readonly string[], current: readonly T[]): FlagDiff<T> {
  const before = new Set(previous);
  const now = new Set(current.map((c) => c.id));
  return {
    raised: current.filter((c) => !before.has(c.id)),
    kept: current.filter((c) => before.has(c.id)),
    cleared: previous.filter((id) => !now.has(id)),
  };
}

/** A stable summary of a flagged set: equal sets, equal fingerprints; nothing flagged is ''. */
export function flagFingerprint(keys: readonly string[]): string {
  return [...new Set(keys)].sort().join(',');
}

// ---------------------------------------------------------------------------------------------------------
// Consolidation candidates

/** Environment words and the word each stands for, so "stg" and "staging" group together. */
export const ENVIRONMENT_WORDS: Readonly<Record<string, string>> = {
  prod: 'production',
  production: 'production',
  prd: 'production',
  live: 'production',
  staging: 'staging',
  stage: 'staging',
  stg: 'staging',
  preprod: 'staging',
  dev: 'development',
  development: 'development',
  develop: 'development',
  local: 'development',
  test: 'test',
  testing: 'test',
  tests: 'test',
  qa: 'test',
  uat: 'test',
  sandbox: 'sandbox',
  demo: 'demo',
  preview: 'preview',
};

/** Words too general to say two accounts serve one purpose. */
const WEAK_PREFIXES = new Set(['smtp', 'mail', 'email', 'emails', 'account', 'app', 'the', 'my', 'new', 'old']);

export function nameTokens(name: string): string[] {
  return name
    .toLocaleLowerCase('en-US')
    .split(/[\s._-]+/)
    .filter(Boolean);
}

export interface ConsolidationGroup {
  /** What the accounts share: an environment ("staging") or a name prefix ("billing-team"). */
  key: string;
  basis: 'environment' | 'prefix';
  accounts: string[];
  /** Slots that consolidating the group into one account would free. */
  slotsFreed: number;
}

/**
 * Groups of two or more accounts whose names suggest one purpose: the same environment word
 * (staging, dev, test, prod, …) or a common leading name part. A group with exactly the members of a
 * larger-keyed group is shown once.
 */
export function consolidationCandidates(accounts: readonly Pick<Account, 'name'>[]): ConsolidationGroup[] {
  const byEnv = new Map<string, string[]>();
  // Same leading word and same environments: "checkout-staging" and "checkout-prod" are two purposes.
  const byPrefix = new Map<string, { name: string; tokens: string[] }[]>();
  for (const { name } of accounts) {
    const tokens = nameTokens(name);
    const envs = [...new Set(tokens.map((t) => ENVIRONMENT_WORDS[t]).filter((e): e is string => e !== undefined))].sort();
    for (const env of envs) byEnv.set(env, [...(byEnv.get(env) ?? []), name]);
    const first = tokens[0];
    if (tokens.length >= 2 && first && first.length >= 2 && !ENVIRONMENT_WORDS[first] && !WEAK_PREFIXES.has(first)) {
      const key = `${first}|${envs.join('+')}`;
      byPrefix.set(key, [...(byPrefix.get(key) ?? []), { name, tokens }]);
    }
  }
  const groups: ConsolidationGroup[] = [];
  for (const [env, names] of byEnv) {
    if (names.length >= 2) groups.push(group(env, 'environment', names));
  }
  for (const members of byPrefix.values()) {
    if (members.length >= 2)
      groups.push(
        group(
          commonPrefix(members.map((m) => m.tokens)).join('-'),
          'prefix',
          members.map((m) => m.name),
        ),
      );
  }
  const seen = new Set<string>();
  return groups
    .sort((a, b) => b.accounts.length - a.accounts.length || (a.basis === b.basis ? a.key.localeCompare(b.key) : a.basis === 'environment' ? -1 : 1))
    .filter((g) => {
      const members = g.accounts.join('\n');
      if (seen.has(members)) return false;
      seen.add(members);
      return true;
    });
}

function group(key: string, basis: ConsolidationGroup['basis'], names: string[]): ConsolidationGroup {
  const sorted = [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
  return { key, basis, accounts: sorted, slotsFreed: sorted.length - 1 };
}

function commonPrefix(lists: readonly string[][]): string[] {
  const out: string[] = [];
  const shortest = Math.min(...lists.map((l) => l.length));
  for (let i = 0; i < shortest; i++) {
    const t = lists[0]![i]!;
    if (!lists.every((l) => l[i] === t)) break;
    out.push(t);
  }
  // A prefix that would be a whole name is not a shared prefix of distinct purposes; keep the first word.
  return out.length >= shortest ? out.slice(0, Math.max(1, shortest - 1)) : out;
}
