// The roles one smtpdesk process can run. `npm start` runs all of them; `--role relay` (etc.) runs some,
// so production can scale them apart. Each role module exports one starter.
import type { RoleName } from './config.ts';
import type { RoleStarter } from './role-starter.ts';

export type { RoleEnvironment, RoleHandle, RoleStarter } from './role-starter.ts';

/** Filled in as each role lands; a role missing here is reported at start, not silently skipped. */
export const ROLE_STARTERS: Partial<Record<RoleName, () => Promise<RoleStarter>>> = {
  // The http role also runs the webhooks adapter's outbound dispatcher.
  http: async () => {
    const [{ httpRole }, { startDispatcherIfConfigured }] = await Promise.all([import('./http/role.ts'), import('./outbound-webhooks/dispatcher.ts')]);
    return httpRole(startDispatcherIfConfigured);
  },
  relay: async () => (await import('./relay/role.ts')).startRelayRole,
  // The jobs post their alerts through the domain's AlertPoster port; here it is Slack's.
  jobs: async () => {
    const [{ jobsRole }, { createAlertPoster }, { teamClients }] = await Promise.all([
      import('./jobs/role.ts'),
      import('./slack/job-alert-poster.ts'),
      import('./slack/team-clients.ts'),
    ]);
    return jobsRole((rt) => createAlertPoster(rt.config, rt.log, teamClients(rt, rt.log)));
  },
  slack: async () => (await import('./slack/role.ts')).startSlackRole,
  worker: async () => (await import('./delivery/role.ts')).startWorkerRole,
  bounces: async () => (await import('./bounces/role.ts')).startBouncesRole,
};
