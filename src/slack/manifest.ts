// The Slack app manifest, built from the ids the code uses (slash command, scopes, events, request path), so
// the committed slack/manifest*.json cannot drift from the code (test/slack/manifest.test.ts regenerates them).
// `npm run slack:manifest -- --mode http --url https://smtpdesk.example.com --command /smtp` prints one.
import { FUNCTION_DEFINITIONS } from './functions/definitions.ts';
import { BOT_EVENTS, BOT_SCOPES, DEFAULT_SLASH_COMMAND, SHORTCUT, SLACK_EVENTS_PATH, SLACK_OAUTH_REDIRECT_PATH } from './ids.ts';

export interface ManifestOptions {
  mode: 'socket' | 'http';
  /** HTTP mode: the public base URL smtpdesk's Slack role is reachable at (SLACK_PORT behind it). */
  baseUrl?: string;
  command?: string;
  name?: string;
}

export const EXAMPLE_BASE_URL = 'https://smtpdesk.example.com';

export function slackManifest(opts: ManifestOptions): Record<string, unknown> {
  const command = opts.command ?? DEFAULT_SLASH_COMMAND;
  const name = opts.name ?? 'smtpdesk';
  const base = (opts.baseUrl ?? EXAMPLE_BASE_URL).replace(/\/+$/, '');
  const requestUrl = opts.mode === 'http' ? `${base}${SLACK_EVENTS_PATH}` : undefined;
  const slashCommand: Record<string, unknown> = {
    command,
    description: 'Manage SMTP accounts: list, create, rotate, disable, delete, usage, plan',
    usage_hint: 'list | show NAME | create [NAME] | rotate NAME | disable NAME [reason] | enable NAME | delete NAME | request NAME | trace ADDRESS | usage | plan | audit | help',
    should_escape: false,
  };
  if (requestUrl) slashCommand.url = requestUrl;
  const events: Record<string, unknown> = { bot_events: [...BOT_EVENTS] };
  if (requestUrl) events.request_url = requestUrl;
  const interactivity: Record<string, unknown> = { is_enabled: true };
  if (requestUrl) interactivity.request_url = requestUrl;
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: 'SMTP accounts for your team: create, rotate, disable and audit them from Slack.',
      background_color: '#1d3557',
    },
    features: {
      app_home: { home_tab_enabled: true, messages_tab_enabled: true, messages_tab_read_only_enabled: true },
      bot_user: { display_name: name, always_online: true },
      slash_commands: [slashCommand],
      shortcuts: [
        { name: 'Request an SMTP account', type: 'global', callback_id: SHORTCUT.requestAccount, description: 'Ask an admin for a new SMTP account' },
        { name: 'Disable this SMTP account', type: 'message', callback_id: SHORTCUT.disableFromMessage, description: 'Disable the account an smtpdesk alert is about' },
      ],
    },
    // HTTP mode can be distributed (SLACK_CLIENT_ID…): Slack sends the installer back to /slack/oauth_redirect.
    oauth_config: { ...(requestUrl ? { redirect_urls: [`${base}${SLACK_OAUTH_REDIRECT_PATH}`] } : {}), scopes: { bot: [...BOT_SCOPES] } },
    // Workflow Builder steps (src/slack/functions/): handled by this app (remote), which must be org-ready.
    functions: FUNCTION_DEFINITIONS,
    settings: {
      event_subscriptions: events,
      interactivity,
      org_deploy_enabled: true,
      function_runtime: 'remote',
      socket_mode_enabled: opts.mode === 'socket',
      token_rotation_enabled: false,
    },
  };
}
