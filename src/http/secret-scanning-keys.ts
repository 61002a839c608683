// The public keys that sign secret-scanning partner alerts, in GitHub's format:
//   {"public_keys": [{"key_identifier": "...", "key": "-----BEGIN PUBLIC KEY-----...", "is_current": true}]}
// read from SECRET_SCANNING_KEYS_FILE or SECRET_SCANNING_KEYS_URL (GitHub's endpoint by default). Kept in memory
// (a cache safe to lose: every instance reads its own), re-read when an alert names a key id we do not hold,
// at most once per SECRET_SCANNING_KEYS_REFRESH_SECONDS so that made-up key ids cannot make us hammer the source.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const keysSchema = z.object({
  public_keys: z.array(z.object({ key_identifier: z.string().min(1).max(500), key: z.string().min(1).max(10_000), is_current: z.boolean().optional() })).max(100),
});

export interface PublicKeySource {
  file?: string;
  url: string;
  refreshMs: number;
  /** Bounds one fetch of the URL. */
  fetchTimeoutMs?: number;
  now?: () => number;
}

export interface PublicKeyStore {
  /** The key with this id; re-reads the source once when it is unknown (within the refresh bound). Null: none. */
  get(keyId: string): Promise<KeyObject | null>;
  /** How many times the source was read (for tests and the log). */
  loads(): number;
}

/** Keys older than this are read again even when every alert names a known id (rotations add new ones). */
const MAX_AGE_MS = 3_600_000;

export function publicKeyStore(src: PublicKeySource): PublicKeyStore {
  const now = src.now ?? Date.now;
  let keys = new Map<string, KeyObject>();
  let loadedAt = -Infinity;
  let loading: Promise<void> | null = null;
  let loadCount = 0;

  const load = () =>
    (loading ??= (async () => {
      try {
        const text = src.file ? await readFile(src.file, 'utf8') : await fetchText(src.url, src.fetchTimeoutMs ?? 5_000);
        keys = parseKeys(text);
        loadCount += 1;
      } finally {
        // A failed read counts too: the next try waits for the refresh bound like any other.
        loadedAt = now();
        loading = null;
      }
    })());

  return {
    async get(keyId) {
      const stale = now() - loadedAt >= MAX_AGE_MS;
      if (stale || (!keys.has(keyId) && now() - loadedAt >= src.refreshMs)) await load();
      return keys.get(keyId) ?? null;
    },
    loads: () => loadCount,
  };
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

/** GitHub's JSON -> key id -> public key. Throws on a document that is not that shape. */
export function parseKeys(text: string): Map<string, KeyObject> {
  const parsed = keysSchema.parse(JSON.parse(text));
  const out = new Map<string, KeyObject>();
  for (const k of parsed.public_keys) {
    try {
      out.set(k.key_identifier, createPublicKey(k.key));
    } catch {
      // One unreadable key must not hide the others.
    }
  }
  return out;
}
