// Create and rotate: both end with a username and password that only the requester may see, once.
import type { App } from '@slack/bolt';
import { createAccount, rotateAccountPassword, type IssuedCredentials } from '../../domain/index.ts';
import { credentialsBlocks } from '../blocks/accounts.ts';
import { esc } from '../blocks/common.ts';
import { noticeModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { INPUT, VIEW } from '../ids.ts';
import { sendPrivately } from '../replies.ts';
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
        code === 'PLAN.NO_FREE_SLOT'
          ? ` \`${deps.config.slack.command} list --idle ${deps.ctx.idleAfterDays}\` shows accounts nobody used for ${deps.ctx.idleAfterDays} days.`
          : '',
      async run(s) {
        const name = s.input(INPUT.createName.block, INPUT.createName.action)?.value ?? '';
        const issued = await createAccount(deps.ctx, s.resolved.actor, s.resolved.workspace.id, name);
        return handOver(s, issued, 'created', 'New SMTP account');
      },
  });

  onSubmit(app, deps, VIEW.rotate, {
      op: 'rotate',
      title: 'Rotate password',
      async run(s) {
        const issued = await rotateAccountPassword(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '');
        return handOver(s, issued, 'rotated', 'Rotate password');
      },
  });
}

/**
 * The modal says it is done; the credentials go to the requester in one private message. If that message
 * cannot be delivered the modal says so (the password is gone: rotate for a new one).
 */
function handOver(s: Submission, issued: IssuedCredentials, verb: 'created' | 'rotated', title: string): SubmitResult {
  const { deps, client, target } = s;
  const message = credentialsBlocks(issued, verb);
  const done = verb === 'created' ? `Created *${esc(issued.account.name)}*` : `New password for *${esc(issued.account.name)}*`;
  const where = target.channelId ? 'in the channel you ran the command from' : 'in your messages with this app';
  return {
    view: noticeModal(title, `:white_check_mark: ${done} (username \`${issued.username}\`).\nThe password is in a message only you can see, ${where}. Store it in your secrets manager now: it is not shown again.`),
    async after(viewId) {
      try {
        await sendPrivately(deps, client, target, message);
      } catch {
        await updateView(
          deps,
          client,
          viewId,
          noticeModal(title, `:warning: ${done}, but the password could not be delivered to you (code SLACK_PRIVATE_REPLY_FAILED). It is not stored anywhere: rotate the account to get a new one.`),
        );
      }
    },
  };
}
