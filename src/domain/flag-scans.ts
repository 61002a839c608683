// Use cases of the scheduled jobs: find idle accounts and plans near their limits, decide what is new,
// store the flags and publish them. The jobs (and the CLI through them) are thin adapters over these.
import type { Actor } from './actor.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import type { FlagRepository, FlagState } from './flag-ports.ts';
import {
  consolidationCandidates,
  diffFlagged,
  flagFingerprint,
  idleCutoff,
  idleDays,
  isIdle,
  planAlertDue,
  planFlagKeys,
  planLimitStatus,
  type ConsolidationGroup,
  type FlagKind,
  type PlanLimitStatus,
  type PlanLimitThresholds,
} from './flags.ts';
import { lastActivity } from './accounts.ts';
import type { Account, Workspace } from './model.ts';
import { getPlan, nextPlanUp, type Plan } from './plans.ts';
import type { UsageSummary } from './usage.ts';
import { monthKey } from './clock.ts';

export interface FlagDeps {
  ctx: DomainContext;
  flags: FlagRepository;
}

export interface IdleAccount extends Account {
  idleDays: number;
  /** Last send, or creation when it never sent. */
  lastActivity: Date;
}

interface FlagTransition {
  workspace: Workspace;
  previous: FlagState | null;
  next: FlagState;
  /** The flagged set differs from the stored one: the state must be written. */
  changed: boolean;
  /** Something rose (a newly idle account, a higher level): people should hear of it. */
  alertDue: boolean;
}

export interface IdleFinding extends FlagTransition {
  /** Every idle account of the workspace now, longest idle first. */
  accounts: IdleAccount[];
  /** Idle now and not flagged before. */
  raised: IdleAccount[];
  /** Ids of accounts flagged before that are no longer idle (sent mail, snoozed, deleted). */
  cleared: string[];
}

export interface PlanLimitFinding extends FlagTransition {
  usage: UsageSummary;
  status: PlanLimitStatus;
  remedies: {
    /** Idle accounts: deleting one frees a slot (never this month's emails). */
    dormant: IdleAccount[];
    consolidation: ConsolidationGroup[];
    nextPlan?: Plan;
  };
}

/** The actor the jobs act as in the audit log and events. */
export function jobActor(jobName: string): Actor {
  return { source: 'jobs', id: jobName, name: `${jobName} job`, roles: [] };
}

function toIdle(a: Account, now: Date): IdleAccount {
  return { ...a, idleDays: idleDays(a, now), lastActivity: lastActivity(a) };
}

function byLongestIdle(a: IdleAccount, b: IdleAccount): number {
  return a.lastActivity.getTime() - b.lastActivity.getTime() || a.name.localeCompare(b.name);
}

/** The state to store after this run. An alert stays pending until posted, as long as something is flagged. */
export function nextFlagState(previous: FlagState | null, input: { workspaceId: string; kind: FlagKind; flagged: string[]; now: Date; alertDue: boolean }): FlagState {
  const flagged = [...new Set(input.flagged)].sort();
  const wasFlagged = (previous?.flagged.length ?? 0) > 0;
  const alert = { ...(previous?.alert ?? { pending: false }) };
  alert.pending = flagged.length > 0 && (input.alertDue || alert.pending);
  return {
    workspaceId: input.workspaceId,
    kind: input.kind,
    fingerprint: flagFingerprint(flagged),
    flagged,
    raisedAt: flagged.length === 0 ? null : wasFlagged ? (previous?.raisedAt ?? input.now) : input.now,
    updatedAt: input.now,
    alert,
  };
}

function transition(workspace: Workspace, kind: FlagKind, previous: FlagState | null, flagged: string[], alertDue: boolean, now: Date): FlagTransition {
  const next = nextFlagState(previous, { workspaceId: workspace.id, kind, flagged, now, alertDue });
  return { workspace, previous, next, changed: next.fingerprint !== (previous?.fingerprint ?? ''), alertDue };
}

async function workspacesById(ctx: DomainContext, workspaceId?: string): Promise<Map<string, Workspace>> {
  const list = workspaceId ? [await ctx.workspaces.findById(workspaceId)].filter((w): w is Workspace => w !== null) : await ctx.workspaces.list();
  return new Map(list.map((w) => [w.id, w]));
}

/**
 * Idle accounts of every workspace (or one): no send for `idleAfterDays` days or more, never-used accounts
 * counted from creation, snoozed ones left out. Workspaces whose earlier flags have all cleared are included
 * too, so their state can be cleared. Reads only.
 */
export async function findIdleAccountFlags(deps: FlagDeps, opts: { idleAfterDays: number; workspaceId?: string }): Promise<IdleFinding[]> {
  const now = deps.ctx.clock();
  const [candidates, states, workspaces] = await Promise.all([
    deps.flags.idleCandidates(idleCutoff(now, opts.idleAfterDays), opts.workspaceId),
    deps.flags.list('idle-accounts', opts.workspaceId),
    workspacesById(deps.ctx, opts.workspaceId),
  ]);
  const idleByWorkspace = new Map<string, IdleAccount[]>();
  for (const a of candidates) {
    if (!isIdle(a, now, opts.idleAfterDays)) continue;
    const list = idleByWorkspace.get(a.workspaceId) ?? [];
    list.push(toIdle(a, now));
    idleByWorkspace.set(a.workspaceId, list);
  }
  const previousByWorkspace = new Map(states.map((s) => [s.workspaceId, s]));
  const ids = new Set([...idleByWorkspace.keys(), ...states.filter((s) => s.flagged.length > 0).map((s) => s.workspaceId)]);
  const findings: IdleFinding[] = [];
  for (const id of ids) {
    const workspace = workspaces.get(id);
    if (!workspace) continue;
    const accounts = (idleByWorkspace.get(id) ?? []).sort(byLongestIdle);
    const previous = previousByWorkspace.get(id) ?? null;
    const diff = diffFlagged(previous?.flagged ?? [], accounts);
    const t = transition(
      workspace,
      'idle-accounts',
      previous,
      accounts.map((a) => a.id),
      diff.raised.length > 0,
      now,
    );
    findings.push({ ...t, accounts, raised: diff.raised, cleared: diff.cleared });
  }
  return findings.sort((a, b) => a.workspace.name.localeCompare(b.workspace.name));
}

/**
 * Slots and emails of every workspace (or one) against its plan, with the remedies when near a limit:
 * the dormant accounts that could be deleted, accounts that look like one purpose, the next plan up.
 * Slots are the workspace's own counter (what account creation is checked against); emails are the month's
 * quota counter. The accounts of the workspaces near a limit are read in one query. Reads only.
 */
export async function findPlanLimitFlags(deps: FlagDeps, opts: { thresholds: PlanLimitThresholds; idleAfterDays: number; workspaceId?: string }): Promise<PlanLimitFinding[]> {
  const now = deps.ctx.clock();
  const month = monthKey(now);
  const [states, workspaces] = await Promise.all([deps.flags.list('plan-limits', opts.workspaceId), workspacesById(deps.ctx, opts.workspaceId)]);
  const previousByWorkspace = new Map(states.map((s) => [s.workspaceId, s]));
  const checked: { workspace: Workspace; usage: UsageSummary; status: PlanLimitStatus }[] = [];
  for (const workspace of workspaces.values()) {
    const plan = getPlan(workspace.planId);
    const usage: UsageSummary = {
      workspaceId: workspace.id,
      workspaceName: workspace.name,
      month,
      plan,
      nextPlan: nextPlanUp(plan.id),
      emailsThisMonth: await deps.ctx.usage.workspaceSent(workspace.id, month),
      slotsUsed: workspace.slotsUsed,
    };
    checked.push({ workspace, usage, status: planLimitStatus(plan, usage, opts.thresholds) });
  }
  const near = checked.filter((c) => c.status.nearLimit).map((c) => c.workspace.id);
  const accountsByWorkspace = new Map<string, Account[]>();
  for (const a of near.length ? await deps.flags.accountsOfWorkspaces(near) : []) {
    accountsByWorkspace.set(a.workspaceId, [...(accountsByWorkspace.get(a.workspaceId) ?? []), a]);
  }
  const findings: PlanLimitFinding[] = [];
  for (const { workspace, usage, status } of checked) {
    const previous = previousByWorkspace.get(workspace.id) ?? null;
    const keys = planFlagKeys(status);
    const t = transition(workspace, 'plan-limits', previous, keys, planAlertDue(previous?.flagged ?? [], keys), now);
    const accounts = accountsByWorkspace.get(workspace.id) ?? [];
    const remedies: PlanLimitFinding['remedies'] = status.nearLimit
      ? {
          dormant: accounts
            .filter((a) => isIdle(a, now, opts.idleAfterDays))
            .map((a) => toIdle(a, now))
            .sort(byLongestIdle),
          consolidation: consolidationCandidates(accounts),
          nextPlan: usage.nextPlan,
        }
      : { dormant: [], consolidation: [], nextPlan: usage.nextPlan };
    findings.push({ ...t, usage, status, remedies });
  }
  return findings.sort((a, b) => a.workspace.name.localeCompare(b.workspace.name));
}

/**
 * Stores a finding's new state. Returns true for the one caller whose write took the state from what it
 * read to what it found; that caller alone publishes the events (and posts the alert).
 */
async function storeTransition(deps: FlagDeps, t: FlagTransition): Promise<boolean> {
  if (!t.changed) return false;
  return deps.flags.replace(t.previous ? t.previous.fingerprint : null, t.next);
}

/** Stores the idle flags; for each newly idle account, audits and publishes 'account.idle'. */
export async function raiseIdleFlags(deps: FlagDeps, finding: IdleFinding, actor: Actor): Promise<boolean> {
  if (!(await storeTransition(deps, finding))) return false;
  for (const a of finding.raised) {
    await recordChange(deps.ctx, actor, 'account.idle', finding.workspace.id, {
      account: a,
      details: { idleDays: a.idleDays, lastUsedAt: a.lastUsedAt?.toISOString() ?? null, totalSent: a.counters.sent },
    });
  }
  return true;
}

/** Stores the plan flags; when a level rose, audits and publishes 'plan.near_limit' with the remedies. */
export async function raisePlanLimitFlags(deps: FlagDeps, finding: PlanLimitFinding, actor: Actor): Promise<boolean> {
  if (!(await storeTransition(deps, finding))) return false;
  if (finding.alertDue) {
    const { status, remedies } = finding;
    await recordChange(deps.ctx, actor, 'plan.near_limit', finding.workspace.id, {
      details: {
        plan: finding.usage.plan.id,
        month: status.month,
        slots: { used: status.slots.used, limit: status.slots.limit, level: status.slots.level },
        emails: { used: status.quota.used, quota: status.quota.limit, threshold: status.quota.threshold },
        dormantAccounts: remedies.dormant.map((a) => a.name),
        consolidation: remedies.consolidation.map((g) => ({ key: g.key, accounts: g.accounts })),
        nextPlan: remedies.nextPlan ? { id: remedies.nextPlan.id, monthlyEmails: remedies.nextPlan.monthlyEmails, accountSlots: remedies.nextPlan.accountSlots } : null,
      },
    });
  }
  return true;
}
