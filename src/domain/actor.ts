// Who asks for a change, and through which adapter. Roles are resolved by the adapter
// (Slack user ids and user groups, webhook integration, local operator) before calling the domain.

export type Source = 'slack' | 'cli' | 'webhook' | 'jobs' | 'relay' | 'system';
export type Role = 'admin' | 'responder';

export interface Actor {
  source: Source;
  /** Stable id in its source: a Slack user id, a webhook integration name, the OS user for the CLI. */
  id: string;
  /** For people reading audit entries and alerts. */
  name?: string;
  roles: readonly Role[];
}

/** "alice (slack)"; a name that already says its source (the CLI's "root (cli)") is kept as it is. */
export function describeActor(actor: Pick<Actor, 'source' | 'id' | 'name'>): string {
  const name = actor.name ?? actor.id;
  return name.endsWith(`(${actor.source})`) ? name : `${name} (${actor.source})`;
}
