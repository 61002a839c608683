// The "Request an SMTP account" modal (global shortcut): name and reason; on submit the request is filed and
// its card posted to the approvals channel. A bad name is shown inline under the field.
import type { App } from '@slack/bolt';
import { requestAccount } from '../../domain/index.ts';
import { noticeModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { INPUT, VIEW } from '../ids.ts';
import { postRequestCard } from '../requests.ts';
import { onSubmit } from './submit.ts';

const NAME_ERRORS = new Set(['ACCOUNT.NAME_INVALID', 'ACCOUNT.NAME_TAKEN']);
const TITLE = 'Request an account';

export function registerRequestView(app: App, deps: SlackDeps): void {
  onSubmit(app, deps, VIEW.request, {
    op: 'request',
    title: TITLE,
    fieldFor: (code) => (NAME_ERRORS.has(code) ? INPUT.requestName.block : undefined),
    async run(s) {
      const name = s.input(INPUT.requestName.block, INPUT.requestName.action)?.value ?? '';
      const reason = s.input(INPUT.requestReason.block, INPUT.requestReason.action)?.value ?? undefined;
      const { request, channel } = await requestAccount(deps.ctx, s.resolved.actor, s.resolved.workspace.id, { name, reason });
      const line = await postRequestCard(deps, s.client, request, channel);
      return { view: noticeModal(TITLE, line) };
    },
  });
}
