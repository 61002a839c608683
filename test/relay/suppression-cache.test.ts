// The relay's suppression cache: RCPT TO answered from memory, one version read per workspace per bound, the
// list reloaded only when it changed, and the last copy kept when the store does not answer.
import { describe, expect, it } from 'vitest';
import type { Suppression } from '../../src/domain/index.ts';
import { createSuppressionCache } from '../../src/relay/suppression-cache.ts';
import { createLogger } from '../../src/log.ts';
import { captureLogs } from '../helpers/logs.ts';

function setup() {
  let version = 1;
  let entries: Suppression[] = [{ workspaceId: 'w1', address: 'Ghost@example.test', at: new Date('2026-11-02T00:00:00Z'), source: 'bounce', reason: '550 5.1.1' }];
  const calls = { version: 0, list: 0 };
  let down = false;
  let clock = 0;
  const logs = captureLogs();
  const cache = createSuppressionCache({
    repo: {
      async version() {
        calls.version++;
        if (down) throw new Error('down');
        return version;
      },
      async list() {
        calls.list++;
        return entries;
      },
    },
    ttlMs: 5_000,
    log: createLogger({ level: 'info', destination: logs.stream }),
    now: () => clock,
  });
  return {
    cache,
    calls,
    logs: logs.lines,
    tick: (ms: number) => (clock += ms),
    change: (next: Suppression[]) => {
      entries = next;
      version++;
    },
    setDown: (v: boolean) => (down = v),
  };
}

describe('suppression cache', () => {
  it('answers many RCPT TO from one read, ignoring case, and re-reads only the version after the bound', async () => {
    const s = setup();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => s.cache.lookup('w1', i % 2 ? 'ghost@EXAMPLE.test' : 'alive@example.test')));
    expect(answers.filter(Boolean)).toHaveLength(50);
    expect(s.calls).toEqual({ version: 1, list: 1 });
    s.tick(5_000);
    await s.cache.lookup('w1', 'ghost@example.test');
    expect(s.calls).toEqual({ version: 1, list: 1 });
    s.tick(1);
    await s.cache.lookup('w1', 'ghost@example.test');
    expect(s.calls).toEqual({ version: 2, list: 1 });
  });

  it('a removal is seen once the bound has passed', async () => {
    const s = setup();
    expect(await s.cache.lookup('w1', 'ghost@example.test')).toBeDefined();
    s.change([]);
    s.tick(5_000);
    expect(await s.cache.lookup('w1', 'ghost@example.test')).toBeDefined();
    s.tick(1);
    expect(await s.cache.lookup('w1', 'ghost@example.test')).toBeUndefined();
    expect(s.calls.list).toBe(2);
  });

  it('keeps the last copy when the store fails, and tries again a second later', async () => {
    const s = setup();
    await s.cache.lookup('w1', 'x@example.test');
    s.setDown(true);
    s.tick(5_001);
    expect(await s.cache.lookup('w1', 'ghost@example.test')).toBeDefined();
    expect(s.logs.some((l) => l.code === 'RELAY_SUPPRESSION_CHECK_FAILED')).toBe(true);
    const before = s.calls.version;
    s.tick(500);
    await s.cache.lookup('w1', 'ghost@example.test');
    expect(s.calls.version).toBe(before);
    s.tick(600);
    await s.cache.lookup('w1', 'ghost@example.test');
    expect(s.calls.version).toBe(before + 1);
  });

  it('keeps at most maxWorkspaces lists, the least recently used going first', async () => {
    let reads = 0;
    const cache = createSuppressionCache({
      repo: {
        async version() {
          reads++;
          return 1;
        },
        async list() {
          return [];
        },
      },
      ttlMs: 60_000,
      maxWorkspaces: 2,
      log: createLogger({ level: 'silent' }),
      now: () => 0,
    });
    for (const w of ['w1', 'w2', 'w3', 'w1']) await cache.lookup(w, 'a@example.test');
    // w1 was dropped for w3 and read again; w3 is still there.
    expect(reads).toBe(4);
    await cache.lookup('w3', 'a@example.test');
    expect(reads).toBe(4);
  });
});
