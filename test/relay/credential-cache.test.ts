import { describe, expect, it } from 'vitest';
import { createCredentialCache } from '../../src/relay/credential-cache.ts';

describe('credential cache', () => {
  it('remembers a verified username and password until the TTL, and nothing for another password', () => {
    let now = 1_000;
    const cache = createCredentialCache({ ttlMs: 600_000, now: () => now });
    cache.set('smtp-a', 'secret-1', { accountId: 'a1', credentialVersion: 3 });
    expect(cache.get('smtp-a', 'secret-1')).toEqual({ accountId: 'a1', credentialVersion: 3 });
    expect(cache.get('smtp-a', 'secret-2')).toBeUndefined();
    expect(cache.get('smtp-a2', 'secret-1')).toBeUndefined();
    now += 600_000;
    expect(cache.get('smtp-a', 'secret-1')).toBeDefined();
    now += 1;
    expect(cache.get('smtp-a', 'secret-1')).toBeUndefined();
    expect(cache.size()).toBe(0);
  });

  it('forgets entries past the TTL even when they are never asked for again', () => {
    let now = 0;
    const cache = createCredentialCache({ ttlMs: 1_000, now: () => now });
    for (let i = 0; i < 50; i++) cache.set(`u${i}`, 'p', { accountId: String(i), credentialVersion: 1 });
    expect(cache.size()).toBe(50);
    now += 1_001;
    expect(cache.size()).toBe(0);
  });

  it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = createCredentialCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('u1', 'p', { accountId: '1', credentialVersion: 1 });
    cache.set('u2', 'p', { accountId: '2', credentialVersion: 1 });
    cache.get('u1', 'p'); // u1 is now the most recent
    cache.set('u3', 'p', { accountId: '3', credentialVersion: 1 });
    expect(cache.size()).toBe(2);
    expect(cache.get('u2', 'p')).toBeUndefined();
    expect(cache.get('u1', 'p')).toBeDefined();
  });

  it('concurrent checks of the same credentials and account version share one bcrypt check', async () => {
    const cache = createCredentialCache({ ttlMs: 60_000 });
    let checks = 0;
    const check = () => {
      checks++;
      return new Promise<boolean>((r) => setTimeout(() => r(true), 20));
    };
    const v1 = { accountId: 'a1', credentialVersion: 1 };
    const same = await Promise.all(Array.from({ length: 20 }, () => cache.shareCheck!('smtp-a', 'pw', v1, check)));
    expect(same).toEqual(Array(20).fill(true));
    expect(checks).toBe(1);
    // another password, or the account's next version, is a check of its own; a finished check is not reused
    await Promise.all([cache.shareCheck!('smtp-a', 'other', v1, check), cache.shareCheck!('smtp-a', 'pw', { ...v1, credentialVersion: 2 }, check)]);
    expect(checks).toBe(3);
    await cache.shareCheck!('smtp-a', 'pw', v1, check);
    expect(checks).toBe(4);
  });
});
