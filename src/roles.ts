// The roles one smtpdesk process can run. `npm start` runs all of them; `--role relay` (etc.) runs some,
// so production can scale them apart. Each role module exports one starter.
import type { RoleName } from './config.ts';
import type { Runtime } from './runtime.ts';

export interface RoleHandle {
  /** Human-readable line for the start-up log, e.g. "SMTP relay on *:2525 (STARTTLS)". */
  description: string;
  /** Whether the role is serving (for /readyz). */
  ready?: () => boolean;
  stop(): Promise<void>;
}

/** What main.ts tells a role about the process it runs in (the http role's /readyz reports the others). */
export interface RoleEnvironment {
  /** `starting` until main.ts has started every role; each started role's ready() (true when it has none). */
  readiness(): { starting: boolean; roles: { name: string; ready: boolean }[] };
}

export type RoleStarter = (rt: Runtime, env?: RoleEnvironment) => Promise<RoleHandle | null>;

/** Filled in as each role lands; a role missing here is reported at start, not silently skipped. */
export const ROLE_STARTERS: Partial<Record<RoleName, () => Promise<RoleStarter>>> = {
  http: async () => (await import('./http/role.ts')).startHttpRole,
  relay: async () => (await import('./relay/role.ts')).startRelayRole,
  jobs: async () => (await import('./jobs/role.ts')).startJobsRole,
  slack: async () => (await import('./slack/role.ts')).startSlackRole,
  worker: async () => (await import('./delivery/role.ts')).startWorkerRole,
};
