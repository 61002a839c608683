// `relay` role: `npm start` (all roles) or `npm start -- --role relay`.
import type { RoleStarter } from '../role-starter.ts';
import { secretKeyProblem } from '../domain/index.ts';
import { listenAddress, StartupError } from '../shared/startup-errors.ts';
import { startRelay } from './relay.ts';

export const startRelayRole: RoleStarter = async (rt) => {
  const problem = await secretKeyProblem(rt.ctx);
  if (problem) throw new StartupError(`relay cannot start: ${problem}`);
  const relay = await startRelay(rt);
  let serving = true;
  const ports = [`${listenAddress(relay.host, relay.port)} (STARTTLS)`];
  if (relay.implicitTlsPort !== undefined) ports.push(`${listenAddress(relay.host, relay.implicitTlsPort)} (implicit TLS)`);
  return {
    description: `SMTP relay on ${ports.join(' and ')}, ${relay.tlsSource === 'files' ? 'certificate from files' : 'self-signed certificate (development)'}`,
    ready: () => serving,
    async stop() {
      serving = false;
      await relay.close();
    },
  };
};
