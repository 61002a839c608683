// Registers the Events API listeners.
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerHomeOpened } from './home-opened.ts';
import { registerInstallationEvents } from './installations.ts';

export function registerEvents(app: App, deps: SlackDeps): void {
  registerHomeOpened(app, deps);
  registerInstallationEvents(app, deps);
}

export { dropRedeliveredEvents } from './deliveries.ts';
