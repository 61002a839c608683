// Lockouts are shared through the database: failed AUTHs spread over two relay instances lock the username
// on both; a successful AUTH with no failure recorded reads no lockout document (and writes one familiar record a day).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

const env = { RELAY_BRUTE_FORCE_SLOW_AFTER: '10', RELAY_BRUTE_FORCE_BLOCK_AFTER: '4', RELAY_BRUTE_FORCE_BLOCK_SECONDS: '60' };
let a: TestRelay;
let b: TestRelay;

beforeAll(async () => {
  a = await startTestRelay({ env });
  b = await startTestRelay({ env, uri: a.rt.config.database.uri, dropDatabase: false });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function attempt(port: number, username: string, password: string, from: string): Promise<string> {
  const c = await RawSmtpClient.connect(port, { localAddress: from });
  try {
    const r = await c.login(username, password);
    return `${r.code} ${r.text}`;
  } finally {
    c.close();
  }
}

describe('lockouts across relay instances', () => {
  it('failures spread over both instances (and addresses) lock the username on both', async () => {
    const acct = await a.newAccount();
    // Two failures on each instance, each from its own address: no instance alone reaches 4.
    expect(await attempt(a.port, acct.username, 'guess-1', '127.0.0.11')).toMatch(/^535 /);
    expect(await attempt(b.port, acct.username, 'guess-2', '127.0.0.12')).toMatch(/^535 /);
    expect(await attempt(a.port, acct.username, 'guess-3', '127.0.0.13')).toMatch(/^535 /);
    expect(await attempt(b.port, acct.username, 'guess-4', '127.0.0.14')).toMatch(/^535 /);
    // The right password, from a fresh address, on either instance: locked.
    expect(await attempt(a.port, acct.username, acct.password, '127.0.0.15')).toMatch(/^454 4\.7\.0 Too many failed authentications/);
    expect(await attempt(b.port, acct.username, acct.password, '127.0.0.16')).toMatch(/^454 4\.7\.0 /);
    // Logged once, by the instance whose failure started it.
    const locks = [...a.logs, ...b.logs].filter((l) => l.code === 'RELAY_AUTH_LOCKED' && l.lockedBy === 'username' && l.username === acct.username);
    expect(locks).toHaveLength(1);
    const doc = await a.rt.db.models.authLockouts.findById(`username:${acct.username}`).lean<{ failures: number; blockedUntil: Date }>();
    expect(doc?.failures).toBe(4);
    expect(doc!.blockedUntil.getTime()).toBeGreaterThan(Date.now());
  });

  it('failures from one address over both instances lock that address for every username', async () => {
    const [x, y] = [await a.newAccount(), await a.newAccount()];
    for (const [i, port] of [a.port, b.port, a.port, b.port].entries()) {
      expect(await attempt(port, i % 2 ? x.username : `nobody-${i}`, 'wrong', '127.0.0.21')).toMatch(/^535 /);
    }
    expect(await attempt(b.port, y.username, y.password, '127.0.0.21')).toMatch(/^454 /);
    expect(await attempt(a.port, y.username, y.password, '127.0.0.21')).toMatch(/^454 /);
    expect(await attempt(a.port, y.username, y.password, '127.0.0.22')).toMatch(/^235 /);
  });

  it('successful AUTHs with no failure recorded read no lockout document and write one familiar record, once', async () => {
    const acct = await a.newAccount();
    const before = await a.rt.db.models.authLockouts.countDocuments({});
    const calls: string[] = [];
    const L = a.rt.db.models.authLockouts as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originals = new Map<string, (...args: unknown[]) => unknown>();
    for (const op of ['find', 'findOneAndUpdate', 'updateOne']) {
      const original = L[op]!;
      originals.set(op, original);
      L[op] = (...args: unknown[]) => {
        calls.push(op);
        return original.apply(L, args);
      };
    }
    try {
      for (let i = 0; i < 3; i++) expect(await attempt(a.port, acct.username, acct.password, '127.0.0.31')).toMatch(/^235 /);
      // The first success notes the address as familiar to the username (refreshed at most twice a day).
      expect(calls).toEqual(['updateOne']);
      // The spy does see the shared counters being used: a failure writes them.
      expect(await attempt(a.port, acct.username, 'wrong', '127.0.0.31')).toMatch(/^535 /);
      expect(calls).toContain('findOneAndUpdate');
    } finally {
      for (const [op, f] of originals) L[op] = f;
    }
    // The familiar record, and the address, pair and username counters.
    expect(await a.rt.db.models.authLockouts.countDocuments({})).toBe(before + 4);
  });
});
