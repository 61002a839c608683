// Request and approve: a member asks for an account (or an admin asks to delete one where the workspace wants
// a second admin for deletes); an admin who is not the requester approves or denies it, once across every
// instance (a compare-and-set on the request). Requests expire (7 days by default). Every state is audited.
import type { Actor } from './actor.ts';
import { describeActor } from './actor.ts';
import { validateAccountName } from './account-name.ts';
import { findAccountOrThrow } from './account-lookup.ts';
import type { AccountRequest, AccountRequestKind } from './account-request-model.ts';
import { createAccount, deleteAccount, type IssuedCredentials } from './accounts.ts';
import { recordChange } from './audit.ts';
import { DAY_MS } from './clock.ts';
import type { DomainContext } from './context.ts';
import { DomainError, isDomainError } from './errors.ts';
import { auditActor, type Account, type Workspace } from './model.ts';
import { authorize } from './permissions.ts';
import { getWorkspaceOrThrow } from './workspaces.ts';

export type { AccountRequest, AccountRequestKind, AccountRequestStatus, AccountRequestRepository } from './account-request-model.ts';

/** How long a request waits for a decision unless told otherwise. */
export const REQUEST_TTL_MS = 7 * DAY_MS;
const REASON_MAX = 500;

function approvalsChannelOf(ws: Workspace): string {
  if (!ws.approvalsChannel) {
    throw new DomainError(
      'REQUEST.NO_APPROVALS_CHANNEL',
      'This workspace has no approvals channel yet: an operator runs `smtpdesk workspace set --approvals-channel CHANNEL_ID`.',
      { workspaceId: ws.id },
    );
  }
  return ws.approvalsChannel;
}

function cleanReason(reason: string | undefined): string | undefined {
  const r = reason?.trim();
  return r ? r.slice(0, REASON_MAX) : undefined;
}

/** `/smtp request NAME [reason]`: anyone may ask; the name is checked now so the approver sees a usable one. */
export async function requestAccount(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  input: { name: string | undefined; reason?: string },
  opts: { ttlMs?: number } = {},
): Promise<{ request: AccountRequest; channel: string }> {
  authorize(actor, 'request.create');
  const name = validateAccountName(input.name);
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const channel = approvalsChannelOf(ws);
  if (await ctx.accounts.findByName(workspaceId, name)) {
    throw new DomainError('ACCOUNT.NAME_TAKEN', `An account named "${name}" exists already in this workspace.`, { name });
  }
  return file(ctx, actor, ws, { kind: 'create', accountName: name, reason: cleanReason(input.reason) }, opts.ttlMs, channel);
}

/** Whether a delete asked by `actor` must wait for a second admin (the CLI, the operator's break-glass tool, never waits). */
export function deletionNeedsApproval(ws: Workspace, actor: Actor): boolean {
  return ws.deleteNeedsApproval === true && actor.source === 'slack';
}

/** A delete that needs a second admin: checked like a delete (role, exact name, queued mail), then filed. */
export async function requestDeletion(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  name: string,
  opts: { confirmName: string; force?: boolean; ttlMs?: number },
): Promise<{ request: AccountRequest; channel: string }> {
  authorize(actor, 'account.delete');
  const ws = await getWorkspaceOrThrow(ctx, workspaceId);
  const channel = approvalsChannelOf(ws);
  const account = await findAccountOrThrow(ctx, workspaceId, name);
  if (opts.confirmName !== account.name) {
    throw new DomainError('ACCOUNT.CONFIRMATION_MISMATCH', `Type the account's exact name, "${account.name}", to delete it.`, { expected: account.name });
  }
  const queued = await ctx.queue.countQueuedForAccount(account.id);
  if (queued > 0 && !opts.force) {
    throw new DomainError('ACCOUNT.HAS_QUEUED_MAIL', `"${account.name}" still has ${queued} queued message(s). Wait for them to be delivered, or force the delete.`, { queued });
  }
  return file(ctx, actor, ws, { kind: 'delete', accountName: account.name, force: queued > 0 }, opts.ttlMs, channel);
}

async function file(
  ctx: DomainContext,
  actor: Actor,
  ws: Workspace,
  what: { kind: AccountRequestKind; accountName: string; reason?: string; force?: boolean },
  ttlMs: number | undefined,
  channel: string,
): Promise<{ request: AccountRequest; channel: string }> {
  const now = ctx.clock();
  const request = await ctx.accountRequests.insert({
    workspaceId: ws.id,
    ...what,
    requestedBy: auditActor(actor),
    createdAt: now,
    expiresAt: new Date(now.getTime() + (ttlMs ?? REQUEST_TTL_MS)),
  });
  await recordChange(ctx, actor, 'request.created', ws.id, { details: detailsOf(request) });
  return { request, channel };
}

function detailsOf(r: AccountRequest): Record<string, unknown> {
  const d: Record<string, unknown> = { requestId: r.id, kind: r.kind, name: r.accountName, requestedBy: describeActor(r.requestedBy) };
  if (r.reason) d.reason = r.reason;
  return d;
}

export interface RequestDecision {
  request: AccountRequest;
  /** Approved create: the new account's credentials, for the requester only. */
  issued?: IssuedCredentials;
  /** Approved delete: the account deleted. */
  deleted?: Account;
  /** Approved, but the change itself could not be made (name taken meanwhile, no free slot…). */
  failure?: string;
}

function alreadyDecided(r: AccountRequest): DomainError {
  const by = r.decidedBy ? describeActor(r.decidedBy) : 'someone';
  const at = r.decidedAt ? ` at ${r.decidedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  const what = r.status === 'expired' ? 'expired' : `${r.status === 'failed' ? 'approved' : r.status} by ${by}${at}`;
  return new DomainError('REQUEST.ALREADY_DECIDED', `This request was already ${what}.`, {
    status: r.status,
    decidedBy: r.decidedBy ?? null,
  });
}

/**
 * Approve or deny. The approver must be an admin and not the requester; a request is decided once, whoever
 * clicks first on whichever instance wins, and a late click is told who decided.
 */
export async function decideRequest(ctx: DomainContext, actor: Actor, workspaceId: string, requestId: string, decision: 'approve' | 'deny'): Promise<RequestDecision> {
  authorize(actor, 'request.decide');
  const request = await ctx.accountRequests.findById(workspaceId, requestId);
  if (!request) throw new DomainError('REQUEST.NOT_FOUND', 'No such request in this workspace.', { requestId });
  if (request.status !== 'pending') throw alreadyDecided(request);
  if (request.requestedBy.source === actor.source && request.requestedBy.id === actor.id) {
    throw new DomainError('PERMISSION.DENIED', 'You made this request: another admin must decide it.', { allowedRoles: ['admin'], requester: true });
  }
  const at = ctx.clock();
  const by = auditActor(actor);
  if (at.getTime() >= request.expiresAt.getTime()) {
    const expired = await ctx.accountRequests.decide(workspaceId, requestId, { status: 'expired', by, at });
    if (expired) await recordChange(ctx, actor, 'request.expired', workspaceId, { details: detailsOf(expired) });
    throw new DomainError('REQUEST.EXPIRED', `This request expired on ${request.expiresAt.toISOString().slice(0, 10)}; ask again if it is still needed.`, { requestId });
  }
  const decided = await ctx.accountRequests.decide(workspaceId, requestId, { status: decision === 'approve' ? 'approved' : 'denied', by, at });
  if (!decided) {
    const now = await ctx.accountRequests.findById(workspaceId, requestId);
    throw alreadyDecided(now ?? request);
  }
  if (decision === 'deny') {
    await recordChange(ctx, actor, 'request.denied', workspaceId, { details: detailsOf(decided) });
    return { request: decided };
  }
  await recordChange(ctx, actor, 'request.approved', workspaceId, { details: detailsOf(decided) });
  try {
    if (decided.kind === 'create') {
      const issued = await createAccount(ctx, actor, workspaceId, decided.accountName);
      const outcome = `created ${issued.account.name} (${issued.username}) for ${describeActor(decided.requestedBy)}`;
      await ctx.accountRequests.setOutcome(decided.id, outcome);
      return { request: { ...decided, outcome }, issued };
    }
    const deleted = await deleteAccount(ctx, actor, workspaceId, decided.accountName, { confirmName: decided.accountName, force: decided.force });
    const outcome = `deleted ${deleted.name} (${deleted.username})`;
    await ctx.accountRequests.setOutcome(decided.id, outcome);
    return { request: { ...decided, outcome }, deleted };
  } catch (err) {
    if (!isDomainError(err)) throw err;
    await ctx.accountRequests.setOutcome(decided.id, err.message, true);
    await recordChange(ctx, actor, 'request.failed', workspaceId, { details: { ...detailsOf(decided), error: err.code } });
    return { request: { ...decided, status: 'failed', outcome: err.message }, failure: err.message };
  }
}

/** Remembers where the request's card was posted, so a decision can update it. */
export async function attachRequestCard(ctx: DomainContext, requestId: string, card: { channel: string; ts: string }): Promise<void> {
  await ctx.accountRequests.setCard(requestId, card);
}
