// The Bolt app, as thin as possible: a receiver for Socket Mode (SLACK_APP_TOKEN) or HTTP mode (signed requests
// on SLACK_PORT at /slack/events), a Web API client pointed at SLACK_API_URL, and the listener groups.
// With SLACK_CLIENT_ID… (OAuth distribution) the HTTP receiver also serves /slack/install and
// /slack/oauth_redirect through Bolt's installer, and each request is answered with its own team's token
// from the installation store (src/slack/installations.ts) instead of SLACK_BOT_TOKEN.
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { registerActions } from './actions/index.ts';
import { webClientOptions, slackLogger } from './client.ts';
import { registerCommands } from './commands/index.ts';
import type { SlackDeps } from './deps.ts';
import { dropRedeliveredEvents, registerEvents } from './events/index.ts';
import { BOT_SCOPES, SLACK_EVENTS_PATH, SLACK_INSTALL_PATH, SLACK_OAUTH_REDIRECT_PATH } from './ids.ts';
import { registerFunctions } from './functions/index.ts';
import { registerShortcuts } from './shortcuts/index.ts';
import { slackErrorSummary } from './actor.ts';
import { safeError } from './replies.ts';
import { registerViews } from './views/index.ts';
import { listenError, StartupError } from '../shared/startup-errors.ts';

export interface SlackApp {
  app: App;
  mode: 'socket' | 'http';
  /** True when installed through OAuth (many teams), false with one SLACK_BOT_TOKEN. */
  oauth: boolean;
  /** Connects (Socket Mode) or listens (HTTP mode; `port` overrides SLACK_PORT, 0 picks a free one). */
  start(port?: number): Promise<{ port?: number }>;
  stop(): Promise<void>;
}

export function buildSlackApp(deps: SlackDeps): SlackApp {
  const { config, log } = deps;
  const s = config.slack;
  const logger = slackLogger(log, 'slack-bolt');
  const clientOptions = webClientOptions(config, log);
  const mode = s.appToken ? 'socket' : 'http';
  const oauth = mode === 'http' && s.oauth && deps.installations ? { ...s.oauth, store: deps.installations } : undefined;
  if (!s.botToken && !oauth) throw new Error('SLACK_BOT_TOKEN is not set (or SLACK_CLIENT_ID… for OAuth distribution)');
  const receiver =
    mode === 'socket'
      ? new SocketModeReceiver({ appToken: s.appToken!, logger, logLevel: LogLevel.INFO, installerOptions: { clientOptions } })
      : new HTTPReceiver({
          signingSecret: s.signingSecret ?? '',
          endpoints: SLACK_EVENTS_PATH,
          logger,
          logLevel: LogLevel.INFO,
          ...(oauth
            ? {
                clientId: oauth.clientId,
                clientSecret: oauth.clientSecret,
                stateSecret: oauth.stateSecret,
                scopes: [...BOT_SCOPES],
                installationStore: oauth.store,
                installerOptions: { installPath: SLACK_INSTALL_PATH, redirectUriPath: SLACK_OAUTH_REDIRECT_PATH, clientOptions },
              }
            : {}),
        });
  // OAuth: no token here; Bolt's installer authorizes each request with its team's installation.
  const app = new App({ ...(oauth ? {} : { token: s.botToken }), receiver, logger, logLevel: LogLevel.INFO, clientOptions, deferInitialization: true });

  app.use(dropRedeliveredEvents(deps));
  registerCommands(app, deps);
  registerViews(app, deps);
  registerActions(app, deps);
  registerEvents(app, deps);
  registerShortcuts(app, deps);
  registerFunctions(app, deps);
  app.error(async (error) => {
    log.error({ code: 'SLACK_UNHANDLED_ERROR', err: safeError(error) }, 'a Slack listener failed');
  });

  let server: Server | undefined;
  return {
    app,
    mode,
    oauth: oauth !== undefined,
    async start(port) {
      // auth.test: a wrong token stops start-up with a clear message instead of failing every request later.
      try {
        await app.init();
      } catch (err) {
        throw slackStartError(err, s.apiUrl);
      }
      if (mode === 'socket') {
        await app.start();
        return {};
      }
      const listenPort = port ?? s.port;
      try {
        // A host given as listen options, so SLACK_HOST binds like RELAY_HOST and HTTP_HOST do.
        server = await app.start(s.host === undefined ? listenPort : { port: listenPort, host: s.host });
      } catch (err) {
        throw listenError(err, { role: 'slack', host: s.host, port: listenPort, portVariable: 'SLACK_PORT', hostVariable: 'SLACK_HOST' });
      }
      const addr = server.address();
      return { port: typeof addr === 'object' && addr ? addr.port : undefined };
    },
    async stop() {
      await app.stop();
    },
  };
}

/** Why auth.test failed at start-up, said so that the operator knows what to change. */
function slackStartError(err: unknown, apiUrl: string | undefined): StartupError {
  const { code, error, message } = slackErrorSummary(err);
  const where = apiUrl ? `the Slack Web API at ${apiUrl} (SLACK_API_URL)` : 'the Slack Web API';
  if (error === 'invalid_auth' || error === 'not_authed' || error === 'account_inactive' || error === 'token_revoked' || error === 'token_expired') {
    return new StartupError(`slack: ${where} refused SLACK_BOT_TOKEN (${error}). Copy the Bot User OAuth Token (xoxb-…) of the app's install again.`, { cause: err });
  }
  if (code === 'slack_webapi_request_error') {
    return new StartupError(`slack: cannot reach ${where}: ${message.replace(/^A request error occurred: /, '')}. Check the network or SLACK_API_URL.`, { cause: err });
  }
  return new StartupError(`slack: auth.test failed at start-up: ${error ?? message}`, { cause: err });
}
