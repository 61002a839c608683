// Delete: the typed name must match exactly; queued mail needs the "delete anyway" box.
import type { App } from '@slack/bolt';
import { deleteAccount, deletionNeedsApproval, requestDeletion } from '../../domain/index.ts';
import { noticeModal } from '../blocks/modals.ts';
import { postRequestCard } from '../requests.ts';
import { esc } from '../blocks/common.ts';
import type { SlackDeps } from '../deps.ts';
import { FORCE_DELETE_VALUE, INPUT, VIEW } from '../ids.ts';
import { sendPrivately } from '../replies.ts';
import { onSubmit } from './submit.ts';

export function registerDeleteView(app: App, deps: SlackDeps): void {
  onSubmit(app, deps, VIEW.delete, {
    op: 'delete',
    title: 'Delete account',
    fieldFor(code, s) {
      if (code === 'ACCOUNT.CONFIRMATION_MISMATCH') return INPUT.deleteConfirm.block;
      if (code === 'ACCOUNT.HAS_QUEUED_MAIL') {
        // Mail may have been queued after the modal opened, when it had no checkbox yet.
        return s.body.view.state?.values?.[INPUT.deleteForce.block] ? INPUT.deleteForce.block : INPUT.deleteConfirm.block;
      }
      return undefined;
    },
    async run(s) {
      const confirmName = (s.input(INPUT.deleteConfirm.block, INPUT.deleteConfirm.action)?.value ?? '').trim();
      const force = (s.input(INPUT.deleteForce.block, INPUT.deleteForce.action)?.selected_options ?? []).some((o) => o.value === FORCE_DELETE_VALUE);
      // The workspace wants a second admin for deletes: the checked delete becomes a request in the approvals channel.
      if (deletionNeedsApproval(s.resolved.workspace, s.resolved.actor)) {
        const { request, channel } = await requestDeletion(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '', { confirmName, force });
        return { view: noticeModal('Delete account', await postRequestCard(deps, s.client, request, channel)) };
      }
      const account = await deleteAccount(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '', { confirmName, force });
      return {
        close: true,
        after: async () => {
          await sendPrivately(deps, s.client, s.target, { text: `:wastebasket: Deleted *${esc(account.name)}* (\`${account.username}\`). Its username is never reused.` });
        },
      };
    },
  });
}
