// The add-domain modal: opened from `/smtp domains add` or the domains list's button; on submit the domain gets
// its key and the modal turns into the DNS record to publish.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { addSendingDomain, authorize } from '../../domain/index.ts';
import type { ResolvedActor } from '../actor.ts';
import { addDomainModal, dnsRecordModal } from '../blocks/domains.ts';
import { noticeModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { INPUT, VIEW } from '../ids.ts';
import { explainFailure } from '../replies.ts';
import { encodeMeta } from './meta.ts';
import { updateView, type ActorSource, type ModalOrigin } from './open.ts';
import { onSubmit } from './submit.ts';

const TITLE = 'Add sending domain';
const FIELD_ERRORS = new Set(['INPUT.INVALID', 'DOMAIN.EXISTS']);

/** Opens the form at once (the trigger lasts 3 s), then checks the requester may add; if not, it says why. */
export async function openAddDomainModal(deps: SlackDeps, client: WebClient, triggerId: string, domain: string | undefined, who: ActorSource, opts: ModalOrigin): Promise<void> {
  const opened = await client.views.open({
    trigger_id: triggerId,
    view: addDomainModal({ domain, privateMetadata: encodeMeta({ w: '', o: opts.origin, ch: opts.channelId, ru: opts.responseUrl }) }),
  });
  const viewId = opened.view?.id;
  let resolved: ResolvedActor | undefined;
  try {
    resolved = typeof who === 'function' ? await who() : who;
    authorize(resolved.actor, 'domain.manage');
  } catch (err) {
    const text = explainFailure(deps, err, { op: 'open.add-domain', user: resolved?.actor.id, workspace: resolved?.workspace });
    if (viewId) await updateView(deps, client, viewId, noticeModal(TITLE, `:no_entry_sign: ${text}`));
  }
}

export function registerDomainViews(app: App, deps: SlackDeps): void {
  onSubmit(app, deps, VIEW.addDomain, {
    op: 'add-domain',
    title: TITLE,
    fieldFor: (code) => (FIELD_ERRORS.has(code) ? INPUT.domainName.block : undefined),
    async run(s) {
      const name = s.input(INPUT.domainName.block, INPUT.domainName.action)?.value ?? '';
      const { domain, record } = await addSendingDomain(deps.ctx, s.resolved.actor, s.resolved.workspace.id, name);
      return { view: dnsRecordModal(domain.domain, record) };
    },
  });
}
