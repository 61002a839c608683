// The check before each MAIL FROM: one read shared by concurrent sessions, reused for the cache time, forgotten
// at a change heard in this process (even one that lands while the read is in flight), bounded in size.
import { describe, expect, it } from 'vitest';
import type { DomainContext, SmtpPrincipal } from '../../src/domain/index.ts';
import { createSessionChecker } from '../../src/relay/session-check.ts';

function setup(opts: { ttlMs?: number; maxAccounts?: number } = {}) {
  let clock = 0;
  let status = 'active';
  const reads: string[][] = [];
  let gate: Promise<void> = Promise.resolve();
  const ctx = {
    clock: () => new Date(0),
    accounts: {
      async findManyById(ids: string[]) {
        reads.push([...ids]);
        const seen = status;
        await gate;
        return ids.map((id) => ({ id, status: seen, credentialVersion: 1, allowedSenders: [] }));
      },
    },
  } as unknown as DomainContext;
  const checker = createSessionChecker(ctx, { ttlMs: opts.ttlMs ?? 1_000, timeoutMs: 5_000, maxAccounts: opts.maxAccounts, now: () => clock });
  return {
    checker,
    reads,
    tick: (ms: number) => (clock += ms),
    disable: () => (status = 'disabled'),
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
  };
}

const principal = (accountId: string) => ({ accountId, workspaceId: 'w1', username: 'u', credentialVersion: 1, policy: { allowedSenders: [] } }) as SmtpPrincipal;

describe('session check', () => {
  it('shares reads between concurrent sessions and reuses the answer for the cache time', async () => {
    const s = setup();
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => s.checker.check(principal('a1'))));
    expect(verdicts.every((v) => v.ok)).toBe(true);
    // The first check's read, and one more for all that came while it was under way.
    expect(s.reads).toEqual([['a1'], ['a1']]);
    s.tick(1_000);
    await s.checker.check(principal('a1'));
    expect(s.reads).toHaveLength(2);
    s.tick(1);
    await s.checker.check(principal('a1'));
    expect(s.reads).toHaveLength(3);
  });

  it('does not keep an answer read while a change was heard', async () => {
    const s = setup();
    const release = s.hold();
    const inFlight = s.checker.check(principal('a1'));
    s.checker.invalidate('a1');
    s.disable();
    release();
    expect((await inFlight).ok).toBe(true); // that session's check started before the change
    expect(await s.checker.check(principal('a1'))).toEqual({ ok: false, reason: 'disabled' });
    expect(s.reads).toHaveLength(2);
  });

  it('reads at every check when the cache time is 0', async () => {
    const s = setup({ ttlMs: 0 });
    await s.checker.check(principal('a1'));
    await s.checker.check(principal('a1'));
    expect(s.reads).toHaveLength(2);
  });

  it('remembers at most maxAccounts accounts', async () => {
    const s = setup({ maxAccounts: 2 });
    for (const id of ['a1', 'a2', 'a3', 'a1']) await s.checker.check(principal(id));
    expect(s.reads.flat()).toEqual(['a1', 'a2', 'a3', 'a1']);
  });
});
