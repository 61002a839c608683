// Who looked at their App Home lately (and which list they picked), so that a change refreshes their
// dashboards: apart from home.ts so that SlackDeps can hold it without importing the home listeners.
import type { HomeList } from './blocks/home-blocks.ts';

export class HomeViewers {
  /** workspaceId -> (userId -> {teamId, last opened, the list they picked}) */
  private readonly viewers = new Map<string, Map<string, { teamId: string; at: number; list?: HomeList }>>();

  constructor(private readonly opts: { recentMs?: number; maxPerWorkspace?: number; now?: () => number } = {}) {}

  private get recentMs(): number {
    return this.opts.recentMs ?? 24 * 3600_000;
  }

  opened(workspaceId: string, teamId: string, userId: string): void {
    const now = (this.opts.now ?? Date.now)();
    let users = this.viewers.get(workspaceId);
    if (!users) this.viewers.set(workspaceId, (users = new Map<string, { teamId: string; at: number; list?: HomeList }>()));
    const list = users.get(userId)?.list;
    users.delete(userId);
    users.set(userId, { teamId, at: now, ...(list ? { list } : {}) });
    const max = this.opts.maxPerWorkspace ?? 200;
    while (users.size > max) users.delete(users.keys().next().value!);
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
    const cutoff = (this.opts.now ?? Date.now)() - this.recentMs;
    const out: { userId: string; teamId: string }[] = [];
    for (const [userId, v] of users) {
      if (v.at >= cutoff) out.push({ userId, teamId: v.teamId });
      else users.delete(userId);
    }
    return out;
  }
}
