// Use cases for workspaces and their plan.
import type { Actor } from './actor.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { Workspace } from './model.ts';
import { authorize } from './permissions.ts';
import { getPlan } from './plans.ts';

export async function getWorkspaceOrThrow(ctx: DomainContext, id: string): Promise<Workspace> {
  const ws = await ctx.workspaces.findById(id);
  if (!ws) throw new DomainError('WORKSPACE.NOT_FOUND', `No workspace with id ${id}.`, { id });
  return ws;
}

/** Finds a workspace by id, name or Slack team id. */
export async function resolveWorkspace(ctx: DomainContext, ref: string): Promise<Workspace> {
  const ws = (await ctx.workspaces.findByName(ref)) ?? (/^[a-f0-9]{24}$/i.test(ref) ? await ctx.workspaces.findById(ref) : null) ?? (await ctx.workspaces.findBySlackTeam(ref));
  if (!ws) {
    const known = (await ctx.workspaces.list()).map((w) => w.name);
    throw new DomainError('WORKSPACE.NOT_FOUND', known.length ? `No workspace "${ref}". Workspaces: ${known.join(', ')}.` : `No workspace "${ref}". Create one first.`, { ref });
  }
  return ws;
}

export async function createWorkspace(
  ctx: DomainContext,
  actor: Actor,
  input: { name: string; planId?: string; slackTeamId?: string; alertChannel?: string; defaultPlan: string },
): Promise<Workspace> {
  authorize(actor, 'workspace.manage');
  const name = input.name.trim();
  if (!name || name.length > 80) {
    throw new DomainError('WORKSPACE.NAME_INVALID', 'A workspace name is 1 to 80 characters.', { name });
  }
  const plan = getPlan(input.planId ?? input.defaultPlan);
  const ws = await ctx.workspaces.create({
    name,
    planId: plan.id,
    slackTeamId: input.slackTeamId,
    alertChannel: input.alertChannel,
    createdAt: ctx.clock(),
  });
  await recordChange(ctx, actor, 'workspace.created', ws.id, { details: { name, plan: plan.id } });
  return ws;
}

/** The workspace of a Slack team, created on first use with the default plan. */
export async function ensureWorkspaceForSlackTeam(ctx: DomainContext, teamId: string, teamName: string | undefined, defaultPlan: string): Promise<Workspace> {
  const existing = await ctx.workspaces.findBySlackTeam(teamId);
  if (existing) return existing;
  const system: Actor = { source: 'slack', id: teamId, name: 'Slack install', roles: ['admin'] };
  try {
    return await createWorkspace(ctx, system, { name: teamName?.trim() || `slack-${teamId}`, slackTeamId: teamId, defaultPlan });
  } catch (err) {
    // Two first requests may race; the loser reads the winner's workspace.
    const raced = await ctx.workspaces.findBySlackTeam(teamId);
    if (raced) return raced;
    if (err instanceof DomainError && err.code === 'WORKSPACE.EXISTS') {
      return createWorkspace(ctx, system, { name: `${teamName ?? 'slack'}-${teamId}`, slackTeamId: teamId, defaultPlan });
    }
    throw err;
  }
}

export async function setWorkspacePlan(ctx: DomainContext, actor: Actor, workspaceId: string, planId: string): Promise<Workspace> {
  authorize(actor, 'plan.change');
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const plan = getPlan(planId);
  const accounts = await ctx.accounts.countByWorkspace(workspaceId);
  if (accounts > plan.accountSlots) {
    throw new DomainError(
      'PLAN.TOO_SMALL',
      `The ${plan.id} plan has ${plan.accountSlots} account slots but ${accounts} accounts exist. Delete ${accounts - plan.accountSlots} first.`,
      { plan: plan.id, slots: plan.accountSlots, accounts },
    );
  }
  if (ws.planId === plan.id) return ws;
  const updated = await ctx.workspaces.update(workspaceId, { planId: plan.id });
  if (!updated) throw new DomainError('WORKSPACE.NOT_FOUND', `No workspace with id ${workspaceId}.`);
  await recordChange(ctx, actor, 'plan.changed', workspaceId, { details: { from: ws.planId, to: plan.id } });
  return updated;
}

export async function updateWorkspaceSettings(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  patch: { alertChannel?: string | null; roles?: Workspace['roles']; surgeAutoDisable?: boolean; approvalsChannel?: string | null; deleteNeedsApproval?: boolean },
): Promise<Workspace> {
  authorize(actor, 'workspace.manage');
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const update: Parameters<DomainContext['workspaces']['update']>[1] = {};
  if (patch.alertChannel !== undefined) update.alertChannel = patch.alertChannel ?? undefined;
  if (patch.roles) update.roles = patch.roles;
  // Stored only when on, so "off" leaves no field behind.
  if (patch.surgeAutoDisable !== undefined) update.surgeAutoDisable = patch.surgeAutoDisable || undefined;
  // Account requests and approvals (src/domain/account-requests.ts).
  if (patch.approvalsChannel !== undefined) update.approvalsChannel = patch.approvalsChannel ?? undefined;
  if (patch.deleteNeedsApproval !== undefined) update.deleteNeedsApproval = patch.deleteNeedsApproval || undefined;
  const updated = (await ctx.workspaces.update(workspaceId, update)) ?? ws;
  await recordChange(ctx, actor, 'workspace.updated', workspaceId, { details: { settings: Object.keys(patch) } });
  return updated;
}

export async function listWorkspaces(ctx: DomainContext, actor: Actor): Promise<Workspace[]> {
  authorize(actor, 'workspace.manage');
  return ctx.workspaces.list();
}
