// Opening the account modals. Slack's trigger_id is valid for 3 seconds, so a modal is opened at once (with a
// loading view when it needs data) and then filled in with views.update once the domain has answered.
import type { WebClient } from '@slack/web-api';
import { authorize, getWorkspaceOrThrow, previewAccountDeletion, showAccount, type Actor, type DisableReason } from '../../domain/index.ts';
import { slackErrorSummary, type ResolvedActor } from '../actor.ts';
import { esc, type ModalView } from '../blocks/common.ts';
import { createModal, deleteModal, disableModal, enableModal, limitsModal, loadingModal, noticeModal, rotateModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { explainFailure } from '../replies.ts';
import { encodeMeta, type ModalMeta } from './meta.ts';

export type AccountModalKind = 'rotate' | 'enable' | 'disable' | 'delete' | 'limits';

const TITLES: Record<AccountModalKind | 'create', string> = {
  create: 'New SMTP account',
  rotate: 'Rotate password',
  enable: 'Enable account',
  disable: 'Disable account',
  delete: 'Delete account',
  limits: 'Sending limits',
};

/** Where the modal was opened from, so answers go back there. */
export interface ModalOrigin {
  origin: ModalMeta['o'];
  channelId?: string;
  responseUrl?: string;
}

/** A resolved actor, or a function resolving it (called after the modal is open: it may need the database). */
export type ActorSource = ResolvedActor | (() => Promise<ResolvedActor>);

export interface AccountModalOptions extends ModalOrigin {
  /** Disable only: reason and note to preselect. */
  reason?: DisableReason;
  note?: string;
}

async function resolveWho(who: ActorSource): Promise<ResolvedActor> {
  return typeof who === 'function' ? who() : who;
}

/** Opens the modal for an action on one account: loading view at once, then the form (or why not). */
export async function openAccountModal(
  deps: SlackDeps,
  client: WebClient,
  triggerId: string,
  kind: AccountModalKind,
  accountName: string,
  who: ActorSource,
  opts: AccountModalOptions,
): Promise<void> {
  const title = TITLES[kind];
  const opened = await client.views.open({ trigger_id: triggerId, view: loadingModal(title) });
  const viewId = opened.view?.id;
  let resolved: ResolvedActor | undefined;
  let view: ModalView;
  try {
    resolved = await resolveWho(who);
    view = await accountForm(deps, kind, accountName, resolved, opts);
  } catch (err) {
    view = noticeModal(title, `:no_entry_sign: ${explainFailure(deps, err, { op: `open.${kind}`, user: resolved?.actor.id, workspace: resolved?.workspace })}`);
  }
  if (viewId) await updateView(deps, client, viewId, view);
}

async function accountForm(deps: SlackDeps, kind: AccountModalKind, accountName: string, r: ResolvedActor, opts: AccountModalOptions): Promise<ModalView> {
  const { ctx } = deps;
  const now = ctx.clock();
  const meta = (name: string) => encodeMeta({ w: r.workspace.id, n: name, o: opts.origin, ch: opts.channelId, ru: opts.responseUrl });
  if (kind === 'delete') {
    const preview = await previewAccountDeletion(ctx, r.actor, r.workspace.id, accountName);
    return deleteModal(preview, { now, idleAfterDays: ctx.idleAfterDays, privateMetadata: meta(preview.account.name) });
  }
  authorize(r.actor, kind === 'rotate' ? 'account.rotate' : kind === 'enable' ? 'account.enable' : kind === 'limits' ? 'account.limits' : 'account.disable');
  const account = await showAccount(ctx, r.actor, r.workspace.id, accountName);
  if (kind === 'rotate') return rotateModal(account, now, meta(account.name));
  if (kind === 'limits') return limitsModal(account, now, meta(account.name));
  if (kind === 'enable') {
    if (account.status === 'active') return noticeModal(TITLES.enable, `*${esc(account.name)}* is active already: nothing to enable.`);
    return enableModal(account, now, meta(account.name));
  }
  if (account.status === 'disabled') return noticeModal(TITLES.disable, `*${esc(account.name)}* is disabled already.`);
  return disableModal(account, now, { reason: opts.reason, note: opts.note, privateMetadata: meta(account.name) });
}

/**
 * Opens the create modal at once (name prefilled), then checks the requester may create; if not, the modal
 * turns into the refusal.
 */
export async function openCreateModal(
  deps: SlackDeps,
  client: WebClient,
  triggerId: string,
  name: string | undefined,
  who: ActorSource,
  opts: ModalOrigin & { workspaceId?: string },
): Promise<void> {
  // The workspace id is not known yet on the slash-command path; the submission resolves it from the team.
  const opened = await client.views.open({
    trigger_id: triggerId,
    view: createModal({ name, privateMetadata: encodeMeta({ w: opts.workspaceId ?? '', o: opts.origin, ch: opts.channelId, ru: opts.responseUrl }) }),
  });
  const viewId = opened.view?.id;
  let resolved: ResolvedActor | undefined;
  try {
    resolved = await resolveWho(who);
    authorize(resolved.actor, 'account.create');
  } catch (err) {
    const text = explainFailure(deps, err, { op: 'open.create', user: resolved?.actor.id, workspace: resolved?.workspace });
    if (viewId) await updateView(deps, client, viewId, noticeModal(TITLES.create, `:no_entry_sign: ${text}`));
  }
}

export async function updateView(deps: SlackDeps, client: WebClient, viewId: string, view: ModalView): Promise<void> {
  try {
    await client.views.update({ view_id: viewId, view });
  } catch (err) {
    deps.log.warn({ code: 'SLACK_VIEW_UPDATE_FAILED', err: slackErrorSummary(err) }, 'could not update a modal');
  }
}

/** A resolved actor for a workspace id (the exported openers are given the actor and the workspace id). */
function forWorkspace(deps: SlackDeps, workspaceId: string, actor: Actor): () => Promise<ResolvedActor> {
  return async () => ({ workspace: await getWorkspaceOrThrow(deps.ctx, workspaceId), actor });
}

export interface OpenerOptions extends Partial<ModalOrigin> {
  reason?: DisableReason;
  note?: string;
}

/**
 * The delete confirmation for `accountName`, from any trigger (slash command, App Home, an alert's button):
 * last used, total sent, queued messages, warnings; deletes when the exact name is typed.
 */
export async function openDeleteConfirmation(
  deps: SlackDeps,
  client: WebClient,
  triggerId: string,
  workspaceId: string,
  accountName: string,
  actor: Actor,
  options: OpenerOptions = {},
): Promise<void> {
  await openAccountModal(deps, client, triggerId, 'delete', accountName, forWorkspace(deps, workspaceId, actor), {
    origin: options.origin ?? 'message',
    channelId: options.channelId,
    responseUrl: options.responseUrl,
  });
}

/** The disable modal for `accountName`, from any trigger: reason (and details), then confirm. */
export async function openDisableModal(
  deps: SlackDeps,
  client: WebClient,
  triggerId: string,
  workspaceId: string,
  accountName: string,
  actor: Actor,
  options: OpenerOptions = {},
): Promise<void> {
  await openAccountModal(deps, client, triggerId, 'disable', accountName, forWorkspace(deps, workspaceId, actor), {
    origin: options.origin ?? 'message',
    channelId: options.channelId,
    responseUrl: options.responseUrl,
    reason: options.reason,
    note: options.note,
  });
}
