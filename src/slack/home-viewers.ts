// Who looked at their App Home lately (and which list they picked), so that a change refreshes their
// dashboards: apart from home.ts so that SlackDeps can hold it without importing the home listeners.
// Both levels are lru-caches whose TTL is "lately" (24 h by default): a viewer who has not opened their Home
// since is forgotten, and a busy workspace keeps its most recent maxPerWorkspace viewers.
import { LRUCache } from 'lru-cache';
import { lruClock } from '../shared/lru-clock.ts';
import type { HomeList } from './blocks/home-blocks.ts';

interface Viewer {
  teamId: string;
  list?: HomeList;
}

/** Workspaces whose viewers are remembered at most. */
const MAX_WORKSPACES = 10_000;

export class HomeViewers {
  /** workspaceId -> (userId -> {teamId, the list they picked}) */
  private readonly viewers: LRUCache<string, LRUCache<string, Viewer>>;

  constructor(private readonly opts: { recentMs?: number; maxPerWorkspace?: number; now?: () => number } = {}) {
    this.viewers = new LRUCache({ max: MAX_WORKSPACES, ttl: this.recentMs, ...lruClock(opts.now) });
  }

  private get recentMs(): number {
    return this.opts.recentMs ?? 24 * 3600_000;
  }

  opened(workspaceId: string, teamId: string, userId: string): void {
    const users = this.viewers.get(workspaceId) ?? new LRUCache<string, Viewer>({ max: this.opts.maxPerWorkspace ?? 200, ttl: this.recentMs, ...lruClock(this.opts.now) });
    // Setting again starts each TTL over: the viewer, and the workspace they belong to, are recent again.
    this.viewers.set(workspaceId, users);
    const list = users.get(userId)?.list;
    users.set(userId, { teamId, ...(list ? { list } : {}) });
  }

  /** The account list `userId` picked on their dashboard (remembered while they are a recent viewer). */
  listOf(workspaceId: string, userId: string): HomeList | undefined {
    return this.viewers.get(workspaceId)?.get(userId)?.list;
  }

  /** Records the pick; call opened() first so that the viewer is known. */
  pickList(workspaceId: string, userId: string, list: HomeList): void {
    const v = this.viewers.get(workspaceId)?.get(userId);
    if (v) v.list = list;
  }

  recent(workspaceId: string): { userId: string; teamId: string }[] {
    const users = this.viewers.get(workspaceId);
    if (!users) return [];
    // entries() leaves out the viewers whose time has passed; oldest first, as they opened.
    return [...users.entries()].reverse().map(([userId, v]) => ({ userId, teamId: v.teamId }));
  }
}
