// Lockouts a stranger cannot turn on the owner (Entra ID smart lockout's familiar locations): after many failed
// AUTHs from 127.0.0.3 for a username, the right password still works from the address that authenticated as it
// yesterday, but not from a new one, nor from one last seen more than 30 days ago. Two relay instances share the
// counters and the familiar addresses through the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { familiarId } from '../../src/store/repositories/lockouts.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

const env = { RELAY_BRUTE_FORCE_SLOW_AFTER: '20', RELAY_BRUTE_FORCE_BLOCK_AFTER: '5', RELAY_BRUTE_FORCE_BLOCK_SECONDS: '600' };
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

async function auth(t: TestRelay, username: string, password: string, from: string): Promise<string> {
  const c = await RawSmtpClient.connect(t.port, { localAddress: from });
  try {
    const r = await c.login(username, password);
    return `${r.code} ${r.text}`;
  } finally {
    c.close();
  }
}

const DAY = 86_400_000;

describe('familiar addresses and username lockouts', () => {
  it('after many failures from 127.0.0.3, the right password works from the address used yesterday, not from a new one', async () => {
    const acct = await a.newAccount('billing-app');
    // The application authenticated from 127.0.0.1 (on instance a)…
    expect(await auth(a, acct.username, acct.password, '127.0.0.1')).toMatch(/^235 /);
    const L = a.rt.db.models.authLockouts;
    const familiar = await L.findById(familiarId(acct.username, '127.0.0.1')).lean<{ lastSuccessAt: Date }>();
    expect(familiar?.lastSuccessAt).toBeInstanceOf(Date);
    // …yesterday, and another address 31 days ago.
    await L.updateOne({ _id: familiarId(acct.username, '127.0.0.1') }, { $set: { lastSuccessAt: new Date(Date.now() - DAY) } });
    await L.create({
      _id: familiarId(acct.username, '127.0.0.5'),
      username: acct.username,
      address: '127.0.0.5',
      lastSuccessAt: new Date(Date.now() - 31 * DAY),
      expiresAt: new Date(Date.now() + DAY),
    });

    // A stranger guesses from 127.0.0.3, over both instances.
    for (let i = 0; i < 6; i++) expect(await auth(i % 2 ? b : a, acct.username, `guess-${i}`, '127.0.0.3')).toMatch(/^(535|454) /);
    expect(await auth(a, acct.username, acct.password, '127.0.0.3')).toMatch(/^454 4\.7\.0 /);

    // The owner's usual address goes on sending, on either instance; a new address and a stale one are locked.
    expect(await auth(b, acct.username, acct.password, '127.0.0.1')).toMatch(/^235 /);
    expect(await auth(a, acct.username, acct.password, '127.0.0.1')).toMatch(/^235 /);
    expect(await auth(b, acct.username, acct.password, '127.0.0.4')).toMatch(/^454 4\.7\.0 /);
    expect(await auth(a, acct.username, acct.password, '127.0.0.5')).toMatch(/^454 4\.7\.0 /);

    // The counts are shared: one document per address, pair and username, with every failure of both instances
    // (five: the sixth try met the lock before its password was checked).
    const pair = await L.findById(`pair:${acct.username}|127.0.0.3`).lean<{ failures: number }>();
    const user = await L.findById(`username:${acct.username}`).lean<{ failures: number; blockedUntil: Date }>();
    expect(pair?.failures).toBe(5);
    expect(user?.failures).toBe(5);
    expect(user!.blockedUntil.getTime()).toBeGreaterThan(Date.now());
  });
});
