// The relay's copy of each workspace's suppression list, so RCPT TO costs no database command. A workspace's
// copy is used for RELAY_SUPPRESSION_CACHE_SECONDS (default 5 s); after that, the next RCPT TO for that workspace
// reads the list's version (one small document by _id) and reloads the list only when it changed. So an address
// added or removed on any instance takes effect on every relay within that bound (plus one read).
// A store that does not answer leaves the last copy in use (an address not yet known is let through: the worker
// would meet the same hard bounce again and suppress it).
import { LRUCache } from 'lru-cache';
import { suppressionKey, type Suppression, type SuppressionRepository } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { lruClock } from '../shared/lru-clock.ts';

export interface SuppressionCache {
  /** The entry when `address` is suppressed in the workspace. */
  lookup(workspaceId: string, address: string): Promise<Suppression | undefined>;
}

interface WorkspaceList {
  version: number;
  entries: Map<string, Suppression>;
}

export interface SuppressionCacheOptions {
  repo: Pick<SuppressionRepository, 'version' | 'list'>;
  ttlMs: number;
  log: Logger;
  /** Workspaces whose lists are kept (least recently used go first). */
  maxWorkspaces?: number;
  now?: () => number;
}

/** After a failed refresh, the last copy is used this long before the store is asked again. */
const RETRY_AFTER_FAILURE_MS = 1_000;

export function createSuppressionCache(opts: SuppressionCacheOptions): SuppressionCache {
  async function refresh(workspaceId: string, current: WorkspaceList | undefined, options: { ttl?: number }): Promise<WorkspaceList | undefined> {
    try {
      const version = await opts.repo.version(workspaceId);
      if (current && current.version === version) return current;
      const entries = new Map((await opts.repo.list(workspaceId)).map((s) => [suppressionKey(s.address), s]));
      return { version, entries };
    } catch (err) {
      opts.log.warn(
        { code: 'RELAY_SUPPRESSION_CHECK_FAILED', workspaceId, err: { message: (err as Error).message } },
        'could not refresh the suppression list; using the last copy',
      );
      // Try again after a second rather than on every RCPT TO while the store is down.
      options.ttl = Math.min(opts.ttlMs, RETRY_AFTER_FAILURE_MS);
      return current;
    }
  }

  // lru-cache's fetch: one refresh per workspace at a time (concurrent RCPT TO wait for it), handed the copy it
  // replaces so an unchanged version costs no reload.
  const lists = new LRUCache<string, WorkspaceList>({
    max: opts.maxWorkspaces ?? 10_000,
    ttl: opts.ttlMs,
    ...lruClock(opts.now),
    fetchMethod: (workspaceId, stale, { options }) => refresh(workspaceId, stale, options),
  });

  return {
    async lookup(workspaceId, address) {
      return (await lists.fetch(workspaceId))?.entries.get(suppressionKey(address));
    },
  };
}
