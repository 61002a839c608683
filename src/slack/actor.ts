// Who is asking: a Slack user resolved to the workspace of their team and a domain Actor with roles.
// Roles come from configuration (SLACK_ADMIN_USERS…, SLACK_ADMIN_GROUP…) and from the workspace's own
// settings (workspace.roles); user group membership is read with usergroups.users.list and cached briefly.
import type { WebClient } from '@slack/web-api';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.ts';
import { ensureWorkspaceForSlackTeam, type Actor, type DomainContext, type Role, type Workspace } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { lruClock } from '../shared/lru-clock.ts';

export interface SlackUserRef {
  teamId: string;
  teamName?: string;
  userId: string;
  /** From the payload when it has one (slash commands, interactions); else looked up with users.info. */
  userName?: string;
}

export interface ResolvedActor {
  workspace: Workspace;
  actor: Actor;
}

/** The people and groups who hold a role, as Slack mentions: "<@U1>, <!subteam^S2>". */
export interface RoleHolders {
  users: string[];
  groups: string[];
}

/** User groups and user names remembered at most (least recently used go first). */
const MAX_GROUPS = 1_000;
const MAX_NAMES = 10_000;

export class SlackDirectory {
  /** Group id -> members. Kept past the TTL (until pushed out) so a failed refresh can fall back on it. */
  private readonly groups: LRUCache<string, ReadonlySet<string>>;
  /** User id -> name, for audit lines. */
  private readonly names: LRUCache<string, string>;
  private readonly ttlMs: number;

  constructor(
    private readonly opts: {
      ctx: DomainContext;
      slack: Config['slack'];
      defaultPlan: string;
      log: Logger;
      /** How long group membership and user names are cached (default 60 s). */
      cacheTtlMs?: number;
      now?: () => number;
    },
  ) {
    this.ttlMs = opts.cacheTtlMs ?? 60_000;
    this.groups = new LRUCache({ max: MAX_GROUPS, ttl: this.ttlMs, noDeleteOnStaleGet: true, ...lruClock(opts.now) });
    this.names = new LRUCache({ max: MAX_NAMES, ttl: this.ttlMs * 10, ...lruClock(opts.now) });
  }

  /** The workspace of a Slack team; created with the default plan on first use. */
  workspaceFor(teamId: string, teamName?: string): Promise<Workspace> {
    return ensureWorkspaceForSlackTeam(this.opts.ctx, teamId, teamName, this.opts.defaultPlan);
  }

  async resolve(client: WebClient, ref: SlackUserRef): Promise<ResolvedActor> {
    const workspace = await this.workspaceFor(ref.teamId, ref.teamName);
    const [roles, name] = await Promise.all([this.rolesOf(client, workspace, ref.userId), this.nameOf(client, ref)]);
    return { workspace, actor: { source: 'slack', id: ref.userId, name, roles } };
  }

  async rolesOf(client: WebClient, workspace: Workspace, userId: string): Promise<Role[]> {
    const admins = this.holders(workspace, 'admin');
    const responders = this.holders(workspace, 'responder');
    const roles: Role[] = [];
    if (await this.holds(client, admins, userId)) roles.push('admin');
    if (await this.holds(client, responders, userId)) roles.push('responder');
    return roles;
  }

  /** Configured and workspace-level holders of a role. */
  holders(workspace: Workspace, role: Role): RoleHolders {
    const s = this.opts.slack;
    const users = role === 'admin' ? [...s.adminUsers, ...workspace.roles.admins] : [...s.responderUsers, ...workspace.roles.responders];
    const groups = (role === 'admin' ? [s.adminGroup, workspace.roles.adminGroup] : [s.responderGroup, workspace.roles.responderGroup]).filter((g): g is string => Boolean(g));
    return { users: [...new Set(users)], groups: [...new Set(groups)] };
  }

  private async holds(client: WebClient, holders: RoleHolders, userId: string): Promise<boolean> {
    if (holders.users.includes(userId)) return true;
    for (const group of holders.groups) {
      if ((await this.groupMembers(client, group)).has(userId)) return true;
    }
    return false;
  }

  async groupMembers(client: WebClient, groupId: string): Promise<ReadonlySet<string>> {
    const fresh = this.groups.has(groupId);
    const hit = this.groups.get(groupId, { allowStale: true });
    if (fresh && hit) return hit;
    try {
      const res = await client.usergroups.users.list({ usergroup: groupId });
      const members = new Set(res.users ?? []);
      this.groups.set(groupId, members);
      return members;
    } catch (err) {
      // Without the list nobody gets the group's role (fail closed); retry sooner than a normal expiry.
      this.opts.log.warn({ code: 'SLACK_GROUP_LOOKUP_FAILED', group: groupId, err: slackErrorSummary(err) }, 'could not read user group members');
      const members = hit ?? new Set<string>();
      this.groups.set(groupId, members, { ttl: Math.min(this.ttlMs, 10_000) });
      return members;
    }
  }

  private async nameOf(client: WebClient, ref: SlackUserRef): Promise<string> {
    if (ref.userName) return ref.userName;
    const hit = this.names.get(ref.userId);
    if (hit !== undefined) return hit;
    try {
      const res = await client.users.info({ user: ref.userId });
      const name = res.user?.name || res.user?.real_name || ref.userId;
      this.names.set(ref.userId, name);
      return name;
    } catch (err) {
      this.opts.log.warn({ code: 'SLACK_USER_LOOKUP_FAILED', user: ref.userId, err: slackErrorSummary(err) }, 'could not read user name');
      return ref.userId;
    }
  }
}

/** Mentions of the holders, for "ask <@U1> or <!subteam^S2>". Empty string when none is configured. */
export function mentionHolders(h: RoleHolders): string {
  return [...h.users.map((u) => `<@${u}>`), ...h.groups.map((g) => `<!subteam^${g}>`)].join(', ');
}

/** A Web API error without request data (which may hold a message we sent): code and Slack's error string. */
export function slackErrorSummary(err: unknown): { code?: string; error?: string; message: string } {
  const e = err as { code?: unknown; data?: { error?: unknown }; message?: unknown };
  const out: { code?: string; error?: string; message: string } = { message: typeof e?.message === 'string' ? e.message.slice(0, 200) : String(err).slice(0, 200) };
  if (typeof e?.code === 'string') out.code = e.code;
  if (typeof e?.data?.error === 'string') out.error = e.data.error;
  return out;
}
