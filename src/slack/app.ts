// The Bolt app, as thin as possible: a receiver for Socket Mode (SLACK_APP_TOKEN) or HTTP mode (signed requests
// on SLACK_PORT at /slack/events), a Web API client pointed at SLACK_API_URL, and the listener groups.
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { registerActions } from './actions/index.ts';
import { webClientOptions, slackLogger } from './client.ts';
import { registerCommands } from './commands/index.ts';
import type { SlackDeps } from './deps.ts';
import { dropRedeliveredEvents, registerEvents } from './events/index.ts';
import { SLACK_EVENTS_PATH } from './ids.ts';
import { slackErrorSummary } from './actor.ts';
import { safeError } from './replies.ts';
import { registerViews } from './views/index.ts';
import { listenError, StartupError } from '../shared/startup-errors.ts';

export interface SlackApp {
  app: App;
  mode: 'socket' | 'http';
  /** Connects (Socket Mode) or listens (HTTP mode; `port` overrides SLACK_PORT, 0 picks a free one). */
  start(port?: number): Promise<{ port?: number }>;
  stop(): Promise<void>;
}

export function buildSlackApp(deps: SlackDeps): SlackApp {
  const { config, log } = deps;
  const s = config.slack;
  if (!s.botToken) throw new Error('SLACK_BOT_TOKEN is not set');
  const logger = slackLogger(log, 'slack-bolt');
  const clientOptions = webClientOptions(config, log);
  const mode = s.appToken ? 'socket' : 'http';
  const receiver =
    mode === 'socket'
      ? new SocketModeReceiver({ appToken: s.appToken!, logger, logLevel: LogLevel.INFO, installerOptions: { clientOptions } })
      : new HTTPReceiver({ signingSecret: s.signingSecret ?? '', endpoints: SLACK_EVENTS_PATH, logger, logLevel: LogLevel.INFO });
  const app = new App({ token: s.botToken, receiver, logger, logLevel: LogLevel.INFO, clientOptions, deferInitialization: true });

  app.use(dropRedeliveredEvents(deps));
  registerCommands(app, deps);
  registerViews(app, deps);
  registerActions(app, deps);
  registerEvents(app, deps);
  app.error(async (error) => {
    log.error({ code: 'SLACK_UNHANDLED_ERROR', err: safeError(error) }, 'a Slack listener failed');
  });

  let server: Server | undefined;
  return {
    app,
    mode,
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
