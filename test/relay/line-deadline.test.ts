// Slow-loris: a client that dribbles a line a byte at a time (each byte resetting the idle timeout) is answered
// 421 once the line is older than the socket timeout, in cleartext, after STARTTLS and inside a message; a client
// that completes its lines is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;
let account: { username: string; password: string };

beforeAll(async () => {
  t = await startTestRelay({ env: { RELAY_SOCKET_TIMEOUT_SECONDS: '1' } });
  account = await t.newAccount();
});
afterAll(async () => {
  await t?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `text` a character every 150 ms until the relay answers; the answer and how long it took. */
async function dribble(c: RawSmtpClient, text: string): Promise<{ code?: number; ms: number }> {
  const started = Date.now();
  let reply: { code: number; text: string } | undefined;
  const reading = c.read(10_000).then((r) => (reply = r));
  for (const ch of text) {
    if (reply || c.isClosed) break;
    c.write(ch);
    await sleep(150);
  }
  await reading;
  return { code: reply?.code, ms: Date.now() - started };
}

describe('command line deadline', () => {
  it('answers 421 to a command line dribbled for longer than the socket timeout', async () => {
    const c = await RawSmtpClient.connect(t.port);
    const started = Date.now();
    let reply: { code: number; text: string } | undefined;
    const reading = c.read(10_000).then((r) => (reply = r));
    for (const ch of 'EHLO slow-loris.example.test') {
      if (reply || c.isClosed) break;
      c.write(ch);
      await sleep(150);
    }
    await reading;
    expect(reply?.code).toBe(421);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(t.logs.some((l) => l.code === 'RELAY_LINE_DEADLINE')).toBe(true);
    c.close();
  });

  it('leaves alone a client whose lines arrive whole, however slowly they follow each other', async () => {
    const c = await RawSmtpClient.connect(t.port);
    for (let i = 0; i < 3; i++) {
      expect((await c.command('NOOP')).code).toBe(250);
      await sleep(700);
    }
    expect(c.isClosed).toBe(false);
    c.close();
  });

  it('answers 421 to a line dribbled after STARTTLS, on the TLS socket', async () => {
    const c = await RawSmtpClient.connect(t.port);
    expect((await c.command('EHLO fast.example.test')).code).toBe(250);
    await c.startTls();
    const r = await dribble(c, 'EHLO slow-loris-over-tls.example.test');
    expect(r.code).toBe(421);
    expect(r.ms).toBeLessThan(4_000);
    c.close();
  });

  it('leaves alone a TLS session whose lines arrive whole (its encrypted bytes are not read as lines)', async () => {
    const c = await RawSmtpClient.connect(t.port);
    await c.startTls();
    for (let i = 0; i < 5; i++) {
      expect((await c.command('NOOP')).code).toBe(250);
      await sleep(600);
    }
    expect(c.isClosed).toBe(false);
    c.close();
  });

  it('answers 421 to a message line dribbled inside DATA', async () => {
    const c = await RawSmtpClient.connect(t.port);
    expect((await c.login(account.username, account.password)).code).toBe(235);
    expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
    expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.write('Subject: slow\r\n\r\n');
    const r = await dribble(c, 'this body line never ends in time, one byte at a time');
    expect(r.code).toBe(421);
    expect(r.ms).toBeLessThan(4_000);
    c.close();
  });

  it('leaves alone a message whose lines arrive whole, however slowly', async () => {
    const c = await RawSmtpClient.connect(t.port);
    expect((await c.login(account.username, account.password)).code).toBe(235);
    expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
    expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    for (const line of ['Subject: patient', '', 'one', 'two']) {
      c.write(`${line}\r\n`);
      await sleep(600);
    }
    expect((await c.command('.')).code).toBe(250);
    c.close();
  });
});
