// Registers every block_actions listener. Other features add theirs here, one register function per file
// (e.g. the scheduled jobs' alert buttons: registerJobAlertActions from ./job-alerts.ts).
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerHomeActions } from './home-actions.ts';
import { registerJobAlertActions } from './job-alerts.ts';
import { registerSurgeAlertActions } from './surge-alerts.ts';
import { registerLeakAlertActions } from './leak-alerts.ts';
import { registerRequestActions } from './requests.ts';
import { registerReputationAlertActions } from './reputation-alerts.ts';

export function registerActions(app: App, deps: SlackDeps): void {
  registerHomeActions(app, deps);
  registerJobAlertActions(app, deps);
  registerSurgeAlertActions(app, deps);
  registerLeakAlertActions(app, deps);
  registerRequestActions(app, deps);
  registerReputationAlertActions(app, deps);
}

export { actorOf, originOf } from './home-actions.ts';
