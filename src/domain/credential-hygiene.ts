// Credential hygiene: passwords older than the workspace's --max-password-age, accounts not used for
// --unused-after, and accounts never used since they were created (after a week's grace). The daily
// credential-hygiene job posts what is new in one digest per workspace; each finding has a key that names the
// state it is about (the password's date, the last use), so the same finding is never posted twice, while a
// password that ages again after a rotate, or an account idle again after a use, is news.
import { DAY_MS } from './clock.ts';
import type { DomainContext } from './context.ts';
import { effectiveCredentialPolicy } from './credential-policy.ts';
import { passwordAgeDays, passwordSetAt } from './credential-report.ts';
import type { FlagRepository, FlagState } from './flag-ports.ts';
import { nextFlagState } from './flag-scans.ts';
import type { Account, CredentialPolicy, Workspace } from './model.ts';

export const HYGIENE_FLAG_KIND = 'credential-hygiene' as const;
/** An account is "never used" only once it had this long to be used. */
export const NEVER_USED_GRACE_DAYS = 7;

export type HygieneKind = 'password_age' | 'unused' | 'never_used';

export interface HygieneFinding {
  account: Account;
  kind: HygieneKind;
  /** Names the finding and the state it is about: the same key is never posted twice. */
  key: string;
  days: number;
  /** For people: "password 120 days old (limit 90)". */
  text: string;
}

/** The findings of one workspace's accounts (active ones: a disabled account sends nothing). Pure. */
export function hygieneFindingsOf(accounts: readonly Account[], policy: Required<CredentialPolicy>, now: Date): HygieneFinding[] {
  const out: HygieneFinding[] = [];
  for (const a of accounts) {
    if (a.status !== 'active') continue;
    const age = passwordAgeDays(a, now);
    if (age > policy.maxPasswordAgeDays) {
      out.push({
        account: a,
        kind: 'password_age',
        key: `age:${a.id}:${passwordSetAt(a).getTime()}`,
        days: age,
        text: `password ${age} days old (limit ${policy.maxPasswordAgeDays})`,
      });
    }
    if (a.lastUsedAt) {
      const unused = Math.floor((now.getTime() - a.lastUsedAt.getTime()) / DAY_MS);
      if (unused > policy.unusedAfterDays) {
        out.push({
          account: a,
          kind: 'unused',
          key: `unused:${a.id}:${a.lastUsedAt.getTime()}`,
          days: unused,
          text: `not used for ${unused} days (limit ${policy.unusedAfterDays})`,
        });
      }
    } else {
      const since = Math.floor((now.getTime() - a.createdAt.getTime()) / DAY_MS);
      if (since >= NEVER_USED_GRACE_DAYS)
        out.push({ account: a, kind: 'never_used', key: `never:${a.id}`, days: since, text: `never used since it was created ${since} days ago` });
    }
  }
  return out.sort((x, y) => x.account.name.localeCompare(y.account.name, 'en', { sensitivity: 'base' }) || x.kind.localeCompare(y.kind));
}

export interface HygieneScan {
  workspace: Workspace;
  previous: FlagState | null;
  next: FlagState;
  changed: boolean;
  findings: HygieneFinding[];
  /** Findings no digest has shown yet: the next digest's content. */
  fresh: HygieneFinding[];
}

/** The hygiene findings of every workspace (or one). Reads only. */
export async function scanCredentialHygiene(deps: { ctx: DomainContext; flags: FlagRepository }, opts: { now: Date; workspaceId?: string }): Promise<HygieneScan[]> {
  const { ctx, flags } = deps;
  const workspaces = opts.workspaceId ? [await ctx.workspaces.findById(opts.workspaceId)].filter((w): w is Workspace => w !== null) : await ctx.workspaces.list();
  const states = new Map((await flags.list(HYGIENE_FLAG_KIND, opts.workspaceId)).map((s) => [s.workspaceId, s]));
  const accounts = await flags.accountsOfWorkspaces(workspaces.map((w) => w.id));
  const scans: HygieneScan[] = [];
  for (const workspace of workspaces) {
    const mine = accounts.filter((a) => a.workspaceId === workspace.id);
    const findings = hygieneFindingsOf(mine, effectiveCredentialPolicy(workspace), opts.now);
    const previous = states.get(workspace.id) ?? null;
    if (!previous && findings.length === 0) continue;
    const posted = new Set(previous?.alert.postedFlagged ?? []);
    const fresh = findings.filter((f) => !posted.has(f.key));
    const next = nextFlagState(previous, { workspaceId: workspace.id, kind: HYGIENE_FLAG_KIND, flagged: findings.map((f) => f.key), now: opts.now, alertDue: fresh.length > 0 });
    scans.push({ workspace, previous, next, changed: next.fingerprint !== (previous?.fingerprint ?? ''), findings, fresh });
  }
  return scans.sort((a, b) => a.workspace.name.localeCompare(b.workspace.name));
}
