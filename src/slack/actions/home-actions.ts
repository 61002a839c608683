// Buttons on the App Home dashboard (and on any message that reuses them): each opens the matching modal
// from the click's trigger at once; the modal then loads what it needs.
import type { App, BlockAction, ButtonAction, OverflowAction, StaticSelectAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ResolvedActor } from '../actor.ts';
import type { SlackDeps } from '../deps.ts';
import { isHomeList } from '../blocks/home-blocks.ts';
import { publishHome } from '../home-publisher.ts';
import { ACTION } from '../ids.ts';
import { explainFailure, safeError, sendPrivately } from '../replies.ts';
import { openAccountModal, openCreateModal, type AccountModalKind, type ModalOrigin } from '../views/open.ts';
import { openAddDomainModal } from '../views/domains.ts';

const KIND_OF: Record<string, AccountModalKind> = {
  [ACTION.rotate]: 'rotate',
  [ACTION.limits]: 'limits',
  [ACTION.disable]: 'disable',
  [ACTION.enable]: 'enable',
  [ACTION.delete]: 'delete',
};

export function originOf(body: BlockAction): ModalOrigin {
  if (body.view?.type === 'home') return { origin: 'home' };
  return { origin: 'message', channelId: body.channel?.id };
}

export function actorOf(deps: SlackDeps, client: WebClient, body: BlockAction): () => Promise<ResolvedActor> {
  const teamId = body.team?.id ?? body.user.team_id ?? '';
  return () => deps.directory.resolve(client, { teamId, userId: body.user.id, userName: body.user.name ?? body.user.username });
}

export function registerHomeActions(app: App, deps: SlackDeps): void {
  const openFor = async (kind: AccountModalKind, name: string, body: BlockAction, client: WebClient) => {
    try {
      await openAccountModal(deps, client, body.trigger_id, kind, name, actorOf(deps, client, body), originOf(body));
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
      deps.log.info({ code: 'SLACK_ACTION', action: kind, user: body.user.id }, `button ${kind}`);
    } catch (err) {
      await tellFailure(deps, client, body, err, `action.${kind}`);
    }
  };

  for (const [actionId, kind] of Object.entries(KIND_OF)) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      await openFor(kind, action.value ?? '', body, client);
    });
  }

  app.action<BlockAction<OverflowAction>>(ACTION.accountMenu, async ({ ack, body, action, client }) => {
    await ack();
    const [actionId, ...rest] = (action.selected_option?.value ?? '').split('|');
    const kind = KIND_OF[actionId ?? ''];
    if (kind) await openFor(kind, rest.join('|'), body, client);
  });

  app.action<BlockAction<ButtonAction>>(ACTION.create, async ({ ack, body, client }) => {
    await ack();
    try {
      await openCreateModal(deps, client, body.trigger_id, undefined, actorOf(deps, client, body), originOf(body));
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
    } catch (err) {
      await tellFailure(deps, client, body, err, 'action.create');
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.addDomain, async ({ ack, body, client }) => {
    await ack();
    try {
      await openAddDomainModal(deps, client, body.trigger_id, undefined, actorOf(deps, client, body), originOf(body));
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
    } catch (err) {
      await tellFailure(deps, client, body, err, 'action.add-domain');
    }
  });

  // The list picker: which accounts the dashboard shows, in what order; remembered for this viewer's refreshes.
  app.action<BlockAction<StaticSelectAction>>(ACTION.homeList, async ({ ack, body, action, client }) => {
    await ack();
    const list = action.selected_option?.value;
    if (!isHomeList(list)) return;
    try {
      const resolved = await actorOf(deps, client, body)();
      deps.home.opened(resolved.workspace.id, body.team?.id ?? '', body.user.id);
      deps.home.pickList(resolved.workspace.id, body.user.id, list);
      await publishHome(deps, client, resolved, body.user.id);
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
    } catch (err) {
      await tellFailure(deps, client, body, err, 'action.home-list');
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.refreshHome, async ({ ack, body, client }) => {
    await ack();
    try {
      const resolved = await actorOf(deps, client, body)();
      deps.home.opened(resolved.workspace.id, body.team?.id ?? '', body.user.id);
      await publishHome(deps, client, resolved, body.user.id);
      deps.metrics.slackRequests.inc({ kind: 'action', result: 'ok' });
    } catch (err) {
      await tellFailure(deps, client, body, err, 'action.refresh');
    }
  });
}

/** The click could not open its modal (e.g. the trigger expired): say so privately, log the code. */
async function tellFailure(deps: SlackDeps, client: WebClient, body: BlockAction, err: unknown, op: string): Promise<void> {
  deps.metrics.slackRequests.inc({ kind: 'action', result: 'error' });
  const text = explainFailure(deps, err, { op, user: body.user.id });
  try {
    await sendPrivately(deps, client, { userId: body.user.id, channelId: body.channel?.id }, { text: `:no_entry_sign: ${text}` });
  } catch (e) {
    deps.log.warn({ code: 'SLACK_ACTION_REPLY_FAILED', err: safeError(e) }, 'could not tell the user about a failed action');
  }
}
