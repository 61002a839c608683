// Per-client limits of the internet-facing bounces listener: open connections and messages per minute, by
// remote address. Kept in this process's memory on purpose: a safe-to-lose guard against one noisy sender,
// bounded by an LRU so that many addresses cannot grow it without end.
import { LRUCache } from 'lru-cache';

export interface ClientLimits {
  /** Takes a connection slot for `ip`; false when it has as many open as allowed. */
  connect(ip: string): boolean;
  disconnect(ip: string): void;
  /** Counts a message from `ip`; false once it passed its messages this minute. */
  message(ip: string, now?: number): boolean;
}

export function createClientLimits(opts: { maxConnectionsPerClient: number; maxMessagesPerMinute: number; maxTracked?: number }): ClientLimits {
  const open = new Map<string, number>();
  const minutes = new LRUCache<string, { minute: number; count: number }>({ max: opts.maxTracked ?? 50_000 });
  return {
    connect(ip) {
      const n = open.get(ip) ?? 0;
      if (n >= opts.maxConnectionsPerClient) return false;
      open.set(ip, n + 1);
      return true;
    },
    disconnect(ip) {
      const n = (open.get(ip) ?? 0) - 1;
      if (n > 0) open.set(ip, n);
      else open.delete(ip);
    },
    message(ip, now = Date.now()) {
      const minute = Math.floor(now / 60_000);
      const cur = minutes.get(ip);
      const entry = cur && cur.minute === minute ? cur : { minute, count: 0 };
      entry.count++;
      minutes.set(ip, entry);
      return entry.count <= opts.maxMessagesPerMinute;
    },
  };
}
