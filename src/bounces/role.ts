// `bounces` role: the return paths' listener (`--role bounces`). Starts only where RETURN_PATH_DOMAIN is set:
// without it the worker sends with the application's own sender and nothing comes back here.
import type { RoleStarter } from '../role-starter.ts';
import { listenAddress } from '../shared/startup-errors.ts';
import { laterOutcomeRepository } from '../store/later-outcomes.ts';
import { startBouncesServer } from './server.ts';

export const startBouncesRole: RoleStarter = async (rt) => {
  const b = rt.config.bounces;
  if (!b.returnPathDomain || !b.returnPathKey) {
    rt.log.info({ code: 'BOUNCES_DISABLED' }, 'bounces role not started: RETURN_PATH_DOMAIN is not set');
    return null;
  }
  const server = await startBouncesServer(
    {
      host: b.host,
      port: b.port,
      hostname: rt.config.relay.hostname,
      returnPathDomain: b.returnPathDomain,
      returnPathKey: b.returnPathKey,
      maxMessageSize: b.maxMessageSize,
      maxClients: b.maxClients,
      maxConnectionsPerClient: b.maxConnectionsPerClient,
      maxMessagesPerClientPerMinute: b.maxMessagesPerClientPerMinute,
    },
    { ctx: rt.ctx, later: laterOutcomeRepository(rt.db.models, rt), log: rt.log, metrics: rt.metrics, clock: rt.ctx.clock },
  );
  let serving = true;
  return {
    description: `bounces listener on ${listenAddress(server.host, server.port)} for return paths at ${b.returnPathDomain}`,
    ready: () => serving,
    async stop() {
      serving = false;
      await server.close();
    },
  };
};
