// Disable (with a reason) and enable: the requester gets a confirmation; a disable made from a slash command
// is also announced in that channel (who, what, why — never a secret). The alert channel hears of both
// through the domain event (src/slack/alerts.ts).
import type { App } from '@slack/bolt';
import { disableAccount, enableAccount } from '../../domain/index.ts';
import { humanReason } from '../../shared/format.ts';
import { esc } from '../blocks/common.ts';
import type { SlackDeps } from '../deps.ts';
import { INPUT, VIEW } from '../ids.ts';
import { postToResponseUrl, sendPrivately } from '../replies.ts';
import { slackErrorSummary } from '../actor.ts';
import { onSubmit } from './submit.ts';

export function registerStatusViews(app: App, deps: SlackDeps): void {
  onSubmit(app, deps, VIEW.disable, {
    op: 'disable',
    title: 'Disable account',
    fieldFor: (code) => (code === 'ACCOUNT.REASON_INVALID' ? INPUT.disableReason.block : undefined),
    async run(s) {
      const reason = s.input(INPUT.disableReason.block, INPUT.disableReason.action)?.selected_option?.value ?? '';
      const note = s.input(INPUT.disableNote.block, INPUT.disableNote.action)?.value ?? undefined;
      const account = await disableAccount(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '', reason, note);
      const why = `${humanReason(account.disabled?.reason ?? reason)}${account.disabled?.note ? ` — “${esc(account.disabled.note)}”` : ''}`;
      const line = `:no_entry: <@${s.body.user.id}> disabled SMTP account *${esc(account.name)}* (\`${account.username}\`). Reason: ${why}`;
      return {
        close: true,
        async after() {
          const alertChannel = s.resolved.workspace.alertChannel;
          if (s.meta.o === 'command' && s.target.responseUrl && s.target.channelId !== alertChannel) {
            try {
              await postToResponseUrl(s.target.responseUrl, { response_type: 'in_channel', text: line });
              return;
            } catch (err) {
              deps.log.warn({ code: 'SLACK_CHANNEL_NOTICE_FAILED', err: slackErrorSummary(err) }, 'could not tell the channel');
            }
          }
          await sendPrivately(deps, s.client, s.target, { text: `${line}${alertChannel ? ` (also posted in <#${alertChannel}>)` : ''}` });
        },
      };
    },
  });

  onSubmit(app, deps, VIEW.enable, {
    op: 'enable',
    title: 'Enable account',
    async run(s) {
      const account = await enableAccount(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '');
      return {
        close: true,
        after: async () => {
          await sendPrivately(deps, s.client, s.target, {
            text: `:large_green_circle: Enabled *${esc(account.name)}* (\`${account.username}\`): it sends again with the same credentials.`,
          });
        },
      };
    },
  });
}
