// The buttons on the reputation warning. *Pause now* disables the account at once with reason `reputation`
// (admins and responders; the domain checks). *Expected* keeps the guard from pausing it until its rates fall
// back under the warn level. Either way the warning's buttons become a line saying who did what.
import type { App } from '@slack/bolt';
import { disableAccount, markReputationExpected } from '../../domain/index.ts';
import { decodeReputationButton, reputationAlertAfterAction } from '../blocks/reputation-alert.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION } from '../ids.ts';
import { alertButtonListener } from './alert-buttons.ts';

export function registerReputationAlertActions(app: App, deps: SlackDeps): void {
  const listen = alertButtonListener(app, deps, {
    kind: 'reputation',
    decode: decodeReputationButton,
    afterAction: reputationAlertAfterAction,
    fallbackText: 'Delivery reputation',
  });

  listen(ACTION.reputationPause, 'reputation.pause', async (r, target, body) => {
    await disableAccount(deps.ctx, r.actor, r.workspace.id, target.name, 'reputation', 'reputation warning: paused from Slack');
    return `:double_vertical_bar: <@${body.user.id}> paused this account. \`${deps.config.slack.command} enable ${target.name}\` resumes it.`;
  });

  listen(ACTION.reputationExpected, 'reputation.expected', async (r, target, body) => {
    await markReputationExpected({ ctx: deps.ctx, flags: deps.reputation.flags }, r.actor, r.workspace.id, target.name);
    return `:ok_hand: <@${body.user.id}> marked this as expected: the guard will not pause it until its rates recover.`;
  });
}
