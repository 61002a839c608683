import type { SMTPServerSession } from 'smtp-server';
import type { RelayDeps } from '../deps.ts';
import { reply } from '../smtp-errors.ts';

export const onConnect =
  (deps: Pick<RelayDeps, 'log' | 'metrics' | 'settings' | 'state'>) =>
  (session: SMTPServerSession, callback: (err?: Error | null) => void): void => {
    deps.metrics.smtpConnections.inc();
    if (deps.state.stopping) return callback(reply.shuttingDown(deps.settings.hostname));
    deps.log.debug({ code: 'RELAY_CONNECTION', session: session.id, ip: session.remoteAddress }, 'connection');
    callback();
  };
