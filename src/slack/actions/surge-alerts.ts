// The buttons on the surge alert. *Disable now* disables at once, without a modal: the alert already says
// why, and seconds count (admins and responders; the domain checks). *Expected* snoozes the alerted signals
// of the account for SURGE_SNOOZE_HOURS. Either way the alert's buttons become a line saying who did what.
import type { App } from '@slack/bolt';
import { disableAccount, snoozeSurgeSignals } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { decodeSurgeButton, surgeAlertAfterAction } from '../blocks/surge-alert.ts';
import type { SlackDeps } from '../deps.ts';
import { ACTION } from '../ids.ts';
import { alertButtonListener } from './alert-buttons.ts';

export function registerSurgeAlertActions(app: App, deps: SlackDeps): void {
  const listen = alertButtonListener(app, deps, { kind: 'surge', decode: decodeSurgeButton, afterAction: surgeAlertAfterAction, fallbackText: 'Unusual sending' });

  listen(ACTION.surgeDisable, 'surge.disable', async (r, target, body) => {
    await disableAccount(deps.ctx, r.actor, r.workspace.id, target.name, 'suspected_compromise', `surge alert: ${target.signals.join(', ')}`);
    return `:no_entry: <@${body.user.id}> disabled this account: every password of it stopped working. \`${deps.config.slack.command} enable ${target.name}\` restores it.`;
  });

  listen(ACTION.surgeExpected, 'surge.expected', async (r, target, body) => {
    const { until } = await snoozeSurgeSignals(deps.ctx, r.actor, r.workspace.id, target.name, target.signals, deps.config.jobs.surge.snoozeHours);
    return `:ok_hand: <@${body.user.id}> marked this as expected: no ${target.signals.join(', ')} alert for it until ${formatDateTime(until)}.`;
  });
}
