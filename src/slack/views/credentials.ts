// Create and rotate: both end with a username and password that only the requester may see, once.
import type { App } from '@slack/bolt';
import { createAccount, rotateAccountPassword, type IssuedCredentials } from '../../domain/index.ts';
import { credentialsBlocks } from '../blocks/accounts.ts';
import { esc } from '../blocks/common.ts';
import { noticeModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { INPUT, VIEW } from '../ids.ts';
import { postEphemeralInDm, tellWhereAsked } from '../replies.ts';
import { slackErrorSummary } from '../actor.ts';
import { formatDateTime } from '../../shared/format.ts';
import { updateView } from './open.ts';
import type { Submission, SubmitResult } from './submit.ts';
import { onSubmit } from './submit.ts';

const NAME_ERRORS = new Set(['ACCOUNT.NAME_INVALID', 'ACCOUNT.NAME_TAKEN', 'PLAN.NO_FREE_SLOT']);

export function registerCredentialViews(app: App, deps: SlackDeps): void {
  onSubmit(app, deps, VIEW.create, {
    op: 'create',
    title: 'New SMTP account',
    fieldFor: (code) => (NAME_ERRORS.has(code) ? INPUT.createName.block : undefined),
    extra: (code) =>
      code === 'PLAN.NO_FREE_SLOT' ? ` \`${deps.config.slack.command} list --idle ${deps.ctx.idleAfterDays}\` shows accounts nobody used for ${deps.ctx.idleAfterDays} days.` : '',
    async run(s) {
      const name = s.input(INPUT.createName.block, INPUT.createName.action)?.value ?? '';
      const issued = await createAccount(deps.ctx, s.resolved.actor, s.resolved.workspace.id, name);
      return handOver(s, issued, 'created', 'New SMTP account');
    },
  });

  onSubmit(app, deps, VIEW.rotate, {
    op: 'rotate',
    title: 'Rotate password',
    fieldFor: (code) => (code === 'INPUT.INVALID' ? INPUT.rotateKeepOld.block : undefined),
    async run(s) {
      const keepOldMs = Number(s.input(INPUT.rotateKeepOld.block, INPUT.rotateKeepOld.action)?.selected_option?.value ?? 0) || 0;
      const issued = await rotateAccountPassword(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '', undefined, { keepOldMs });
      return handOver(s, issued, 'rotated', 'Rotate password');
    },
  });
}

/**
 * The credentials go to the requester in one ephemeral message in their DM with the app, wherever the request
 * came from: a channel's ephemeral can be seen on a screen shared in that channel and is tied to it. When the
 * request came from a channel, that channel gets only a pointer to the DM. If the DM cannot be opened the
 * password is posted nowhere else (the modal and the pointer say so: rotate for a new one).
 */
function handOver(s: Submission, issued: IssuedCredentials, verb: 'created' | 'rotated', title: string): SubmitResult {
  const { deps, client, target } = s;
  const message = credentialsBlocks(issued, verb);
  const done = verb === 'created' ? `Created *${esc(issued.account.name)}*` : `New password for *${esc(issued.account.name)}*`;
  const kept = issued.account.previousPassword ? ` The old password keeps working until ${formatDateTime(issued.account.previousPassword.validUntil)}.` : '';
  const undelivered = `:warning: ${done}, but the password could not be delivered to you (code SLACK_PRIVATE_REPLY_FAILED): your direct messages with this app could not be opened. It is not stored or posted anywhere: rotate the account to get a new one.`;
  return {
    view: noticeModal(
      title,
      `:white_check_mark: ${done} (username \`${issued.username}\`).\nThe password is in a message only you can see, in your messages with this app. Store it in your secrets manager now: it is not shown again.${kept}`,
    ),
    async after(viewId) {
      let dm: string;
      try {
        dm = await postEphemeralInDm(client, target.userId, message);
      } catch (err) {
        deps.log.warn({ code: 'SLACK_PRIVATE_REPLY_FAILED', user: target.userId, errors: [slackErrorSummary(err)] }, 'could not deliver credentials in the DM');
        await updateView(deps, client, viewId, noticeModal(title, undelivered));
        await tellWhereAsked(deps, client, target, { text: undelivered });
        return;
      }
      await tellWhereAsked(deps, client, target, {
        text: `:lock: ${done} (username \`${issued.username}\`). The password is in <#${dm}>, your messages with this app, visible only to you.${kept}`,
      });
    },
  };
}
