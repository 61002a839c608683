// Verified SMTP credentials remembered in memory, so an application that opens a connection per message
// pays bcrypt once per TTL instead of on every connection.
//
// The key is an HMAC of username and password under a random key made at process start and never
// stored: the cache holds no password and nothing that could be checked against a password outside
// this process. Each entry carries the account id and credential version it was verified for; the AUTH
// rule (domain/smtp-auth.ts) reads the account on every AUTH and ignores an entry whose version or status
// no longer matches, so rotate, disable, enable and delete invalidate it at once, on every instance.
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifiedCredential, VerifiedCredentialCache } from '../domain/index.ts';
import { lruClock } from '../shared/lru-clock.ts';

export interface CredentialCacheOptions {
  ttlMs: number;
  /** Least recently used entries go first past this size. */
  maxEntries?: number;
  now?: () => number;
}

export interface CredentialCache extends VerifiedCredentialCache {
  size(): number;
  clear(): void;
}

export const DEFAULT_CREDENTIAL_CACHE_ENTRIES = 10_000;

export function createCredentialCache(opts: CredentialCacheOptions): CredentialCache {
  const hmacKey = randomBytes(32);
  const maxEntries = opts.maxEntries ?? DEFAULT_CREDENTIAL_CACHE_ENTRIES;
  const entries = new LRUCache<string, VerifiedCredential>({ max: maxEntries, ttl: opts.ttlMs, ...lruClock(opts.now) });
  // Checks in progress, so that a burst of connections with the same credentials pays one bcrypt; each entry
  // leaves when its check ends, so this holds at most one per credential being checked right now.
  const checking = new Map<string, Promise<boolean>>();

  const keyOf = (username: string, password: string) => createHmac('sha256', hmacKey).update(`${username.length}:${username}:`).update(password).digest('base64');

  return {
    get(username, password) {
      const hit = entries.get(keyOf(username, password));
      return hit && { accountId: hit.accountId, credentialVersion: hit.credentialVersion };
    },
    set(username, password, entry) {
      entries.set(keyOf(username, password), { accountId: entry.accountId, credentialVersion: entry.credentialVersion });
    },
    shareCheck(username, password, version, check) {
      const key = `${keyOf(username, password)}:${version.accountId}:${version.credentialVersion}`;
      let running = checking.get(key);
      if (!running) {
        running = check().finally(() => checking.delete(key));
        checking.set(key, running);
      }
      return running;
    },
    // Entries past their TTL are dropped as they are met; purgeStale() makes the count exact.
    size: () => (entries.purgeStale(), entries.size),
    clear: () => entries.clear(),
  };
}
