import type { SMTPServerSession } from 'smtp-server';
import { sessionFields, type RelayDeps } from '../deps.ts';

export const onClose =
  (deps: Pick<RelayDeps, 'log'>) =>
  (session: SMTPServerSession): void => {
    deps.log.debug({ code: 'RELAY_CONNECTION_CLOSED', ...sessionFields(session), transactions: session.transaction }, 'connection closed');
  };
