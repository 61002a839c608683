// Failed AUTHs slow down and then lock out an address or a username (454 4.7.0), and it is logged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BruteForceGuard } from '../../src/relay/brute-force.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { eventually, startTestRelay, type TestRelay } from '../helpers/relay.ts';

describe('brute-force guard', () => {
  const settings = { slowAfter: 2, blockAfter: 4, windowMs: 60_000, blockMs: 30_000, delayStepMs: 100, maxDelayMs: 250 };

  it('slows after slowAfter failures, locks after blockAfter, and unlocks after blockMs', () => {
    let now = 0;
    const g = new BruteForceGuard(settings, () => now);
    const delays = [1, 2, 3, 4].map(() => g.recordFailure('10.0.0.1', 'smtp-a').delayMs);
    expect(delays).toEqual([0, 0, 100, 200]);
    expect(g.check('10.0.0.1', 'someone-else')).toEqual({ blocked: true, by: 'address', retryAfterMs: 30_000 });
    expect(g.check('10.0.0.2', 'SMTP-A')).toEqual({ blocked: true, by: 'username', retryAfterMs: 30_000 });
    expect(g.check('10.0.0.2', 'smtp-b')).toEqual({ blocked: false });
    now += 60_000;
    expect(g.check('10.0.0.1', 'smtp-a')).toEqual({ blocked: false });
  });

  it('counts a failure that is no guess (a disabled account) against the username and pair only', () => {
    const g = new BruteForceGuard(settings, () => 0);
    for (let i = 0; i < 6; i++) g.recordFailure('10.0.0.1', 'disabled-app', { address: false });
    expect(g.check('10.0.0.1', 'other-app')).toEqual({ blocked: false });
    expect(g.check('10.0.0.1', 'disabled-app')).toEqual({ blocked: true, by: 'pair', retryAfterMs: 30_000 });
    expect(g.check('10.0.0.2', 'disabled-app')).toEqual({ blocked: true, by: 'username', retryAfterMs: 30_000 });
  });

  it('a username lock spares a familiar address; a pair lock and an address lock do not', () => {
    const g = new BruteForceGuard(settings, () => 0);
    for (let i = 0; i < 4; i++) g.recordFailure('10.0.0.3', 'smtp-a');
    expect(g.check('10.0.0.1', 'smtp-a')).toEqual({ blocked: true, by: 'username', retryAfterMs: 30_000 });
    expect(g.check('10.0.0.1', 'smtp-a', { familiar: true })).toEqual({ blocked: false });
    expect(g.check('10.0.0.3', 'smtp-a', { familiar: true })).toMatchObject({ blocked: true, by: 'address' });
  });

  it('reports a lockout once, when it starts', () => {
    const g = new BruteForceGuard(settings, () => 0);
    const locked = [1, 2, 3, 4, 5].map(() => g.recordFailure('10.0.0.1', 'smtp-a').lockedNow);
    expect(locked).toEqual([[], [], [], ['address', 'pair', 'username'], []]);
  });

  it('forgets failures after the window', () => {
    let now = 0;
    const g = new BruteForceGuard(settings, () => now);
    g.recordFailure('10.0.0.1', 'smtp-a');
    g.recordFailure('10.0.0.1', 'smtp-a');
    now += 60_001;
    expect(g.recordFailure('10.0.0.1', 'smtp-a').failures).toEqual({ address: 1, pair: 1, username: 1 });
  });

  it('stays bounded in memory', () => {
    const g = new BruteForceGuard({ ...settings, maxEntries: 100 }, () => 0);
    for (let i = 0; i < 1000; i++) g.recordFailure(`10.0.${i >> 8}.${i & 255}`, `user-${i}`);
    expect(g.size()).toEqual({ addresses: 100, usernames: 100, pairs: 100 });
  });
});

describe('lockout on a real relay', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay({
      env: { RELAY_BRUTE_FORCE_SLOW_AFTER: '2', RELAY_BRUTE_FORCE_BLOCK_AFTER: '4', RELAY_BRUTE_FORCE_BLOCK_SECONDS: '2' },
      relay: { bruteForceDelayStepMs: 150 },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function attempt(username: string, password: string, from = '127.0.0.1'): Promise<{ reply: string; ms: number }> {
    const c = await RawSmtpClient.connect(t.port, { localAddress: from });
    try {
      await c.command('EHLO client.test');
      await c.startTls();
      await c.command('EHLO client.test');
      const started = performance.now();
      const r = await c.command(`AUTH PLAIN ${Buffer.from(`\0${username}\0${password}`).toString('base64')}`);
      return { reply: `${r.code} ${r.text}`, ms: performance.now() - started };
    } finally {
      c.close();
    }
  }

  it('slows failures past the threshold, then refuses even the right password with 454 until the block ends', async () => {
    const a = await t.newAccount();
    const tries = [];
    for (let i = 0; i < 4; i++) tries.push(await attempt(a.username, 'wrong-password', '127.0.0.2'));
    expect(tries.map((x) => x.reply)).toEqual(Array(4).fill('535 5.7.8 Authentication failed'));
    // failures 3 and 4 are answered 150 and 300 ms later than the first ones
    expect(tries[2]!.ms).toBeGreaterThanOrEqual(140);
    expect(tries[3]!.ms).toBeGreaterThanOrEqual(290);

    const locked = await attempt(a.username, a.password, '127.0.0.2');
    expect(locked.reply).toMatch(/^454 4\.7\.0 Too many failed authentications, try again in [12] s$/);

    // The lockout is logged once, for the address and for the username, with a stable code; refusals too.
    const lockLines = t.logs.filter((l) => l.code === 'RELAY_AUTH_LOCKED');
    expect(lockLines.map((l) => l.lockedBy).sort()).toEqual(['address', 'pair', 'username']);
    expect(lockLines.every((l) => l.ip === '127.0.0.2' && l.username === a.username)).toBe(true);
    expect(t.logs.some((l) => l.code === 'RELAY_AUTH_THROTTLED' && l.ip === '127.0.0.2')).toBe(true);

    // The username is locked from any address that never authenticated as it; the address is locked for any username.
    expect((await attempt(a.username, a.password, '127.0.0.3')).reply).toMatch(/^454 /);
    const other = await t.newAccount();
    expect((await attempt(other.username, other.password, '127.0.0.2')).reply).toMatch(/^454 /);
    expect((await attempt(other.username, other.password, '127.0.0.3')).reply).toMatch(/^235 /);

    // After the block (2 s here) the right password works again.
    await eventually(async () => (await attempt(a.username, a.password, '127.0.0.2')).reply.startsWith('235'), 6_000, 'the block to end');
  });
});
