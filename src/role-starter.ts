// What a role starter is: apart from roles.ts (which loads every starter) so that a role module can name
// its own type without importing the list that imports it.
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
