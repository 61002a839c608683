// Graceful shutdown: no new connections, idle sessions told 421 at once, a message in progress may
// finish within RELAY_SHUTDOWN_GRACE_SECONDS, anything still open then gets 421.
import { expect, it } from 'vitest';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay } from '../helpers/relay.ts';

async function midData(port: number, a: { username: string; password: string }, subject: string): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.connect(port);
  expect((await c.login(a.username, a.password)).code).toBe(235);
  expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
  expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  c.write(`Subject: ${subject}\r\n\r\nfirst half\r\n`);
  return c;
}

it('a message in progress finishes and is queued; idle sessions and the next MAIL FROM get 421; no new connections', async () => {
  const t = await startTestRelay({ env: { RELAY_SHUTDOWN_GRACE_SECONDS: '5' } });
  try {
    const a = await t.newAccount();
    const busy = await midData(t.port, a, 'finishes during shutdown');
    const idle = await RawSmtpClient.connect(t.port);
    expect((await idle.login(a.username, a.password)).code).toBe(235);

    const started = Date.now();
    const closing = t.relay.close();
    expect((await idle.read()).code).toBe(421);
    await expect(RawSmtpClient.connect(t.port)).rejects.toThrow(/ECONNREFUSED/);

    busy.write('second half\r\n.\r\n');
    const done = await busy.read();
    expect(done.code).toBe(250);
    expect((await busy.command('MAIL FROM:<app@example.com>')).code).toBe(421);
    await closing;
    expect(Date.now() - started).toBeLessThan(5_000);

    const doc = await t.rt.db.models.queuedMessages.findById(done.text.split(' ').pop()).lean();
    expect(doc?.subject).toBe('finishes during shutdown');
    expect(t.logs.map((l) => l.code)).toEqual(expect.arrayContaining(['RELAY_SHUTDOWN', 'RELAY_STOPPED']));
  } finally {
    await t.close();
  }
});

it('a session that does not finish within the grace period gets 421 and the relay stops anyway', async () => {
  const t = await startTestRelay({ env: { RELAY_SHUTDOWN_GRACE_SECONDS: '1' } });
  try {
    const a = await t.newAccount();
    const stuck = await midData(t.port, a, 'never finished');
    const started = Date.now();
    await t.relay.close();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(4_000);
    expect((await stuck.read()).code).toBe(421);
    expect(await t.rt.db.models.queuedMessages.countDocuments({ accountId: a.accountId })).toBe(0);
  } finally {
    await t.close();
  }
});
