// Registers the Events API listeners.
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerHomeOpened } from './home-opened.ts';

export function registerEvents(app: App, deps: SlackDeps): void {
  registerHomeOpened(app, deps);
}

export { dropRedeliveredEvents } from './deliveries.ts';
