// Verified SMTP credentials remembered in memory, so an application that opens a connection per message
// pays bcrypt once per TTL instead of on every connection.
//
// The key is an HMAC of username and password under a random key made at process start and never
// stored: the cache holds no password and nothing that could be checked against a password outside
// this process. Each entry carries the account id and credential version it was verified for; the AUTH
// rule (domain/smtp-auth.ts) reads the account on every AUTH and ignores an entry whose version or status
// no longer matches, so rotate, disable, enable and delete invalidate it at once, on every instance.
import { createHmac, randomBytes } from 'node:crypto';
import type { VerifiedCredential, VerifiedCredentialCache } from '../domain/index.ts';

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
  const now = opts.now ?? Date.now;
  const entries = new Map<string, VerifiedCredential & { expiresAt: number }>();
  const checking = new Map<string, Promise<boolean>>();

  const keyOf = (username: string, password: string) => createHmac('sha256', hmacKey).update(`${username.length}:${username}:`).update(password).digest('base64');

  return {
    get(username, password) {
      const key = keyOf(username, password);
      const hit = entries.get(key);
      if (!hit) return undefined;
      entries.delete(key);
      if (hit.expiresAt <= now()) return undefined;
      entries.set(key, hit); // most recently used last
      return { accountId: hit.accountId, credentialVersion: hit.credentialVersion };
    },
    set(username, password, entry) {
      const key = keyOf(username, password);
      entries.delete(key);
      entries.set(key, { accountId: entry.accountId, credentialVersion: entry.credentialVersion, expiresAt: now() + opts.ttlMs });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
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
    size: () => entries.size,
    clear: () => entries.clear(),
  };
}
