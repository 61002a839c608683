// The relay's copy of each workspace's suppression list, so RCPT TO costs no database command. A workspace's
// copy is used for RELAY_SUPPRESSION_CACHE_SECONDS (default 5 s); after that, the next RCPT TO for that workspace
// reads the list's version (one small document by _id) and reloads the list only when it changed. So an address
// added or removed on any instance takes effect on every relay within that bound (plus one read).
// A store that does not answer leaves the last copy in use (an address not yet known is let through: the worker
// would meet the same hard bounce again and suppress it).
import { suppressionKey, type Suppression, type SuppressionRepository } from '../domain/index.ts';
import type { Logger } from '../log.ts';

export interface SuppressionCache {
  /** The entry when `address` is suppressed in the workspace. */
  lookup(workspaceId: string, address: string): Promise<Suppression | undefined>;
}

interface WorkspaceList {
  version: number;
  entries: Map<string, Suppression>;
  checkedAt: number;
}

export function createSuppressionCache(opts: { repo: Pick<SuppressionRepository, 'version' | 'list'>; ttlMs: number; log: Logger; now?: () => number }): SuppressionCache {
  const now = opts.now ?? Date.now;
  const lists = new Map<string, WorkspaceList>();
  const refreshing = new Map<string, Promise<void>>();

  async function refresh(workspaceId: string): Promise<void> {
    const current = lists.get(workspaceId);
    try {
      const version = await opts.repo.version(workspaceId);
      if (current && current.version === version) {
        current.checkedAt = now();
        return;
      }
      const entries = new Map((await opts.repo.list(workspaceId)).map((s) => [suppressionKey(s.address), s]));
      lists.set(workspaceId, { version, entries, checkedAt: now() });
    } catch (err) {
      opts.log.warn(
        { code: 'RELAY_SUPPRESSION_CHECK_FAILED', workspaceId, err: { message: (err as Error).message } },
        'could not refresh the suppression list; using the last copy',
      );
      // Try again after a second rather than on every RCPT TO while the store is down.
      if (current) current.checkedAt = now() - opts.ttlMs + 1000;
    }
  }

  return {
    async lookup(workspaceId, address) {
      const list = lists.get(workspaceId);
      if (!list || now() - list.checkedAt >= opts.ttlMs) {
        let p = refreshing.get(workspaceId);
        if (!p) {
          p = refresh(workspaceId).finally(() => refreshing.delete(workspaceId));
          refreshing.set(workspaceId, p);
        }
        await p;
      }
      return lists.get(workspaceId)?.entries.get(suppressionKey(address));
    },
  };
}
