// Protocol hygiene: an AUTH response that is not valid base64 is refused (RFC 4954 §4), a NUL byte in a
// message is refused like a bare CR or LF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrictBase64 } from '../../src/relay/connection-hooks.ts';
import { MessageScanner } from '../../src/relay/message-scanner.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;
let account: { username: string; password: string; accountId: string };

beforeAll(async () => {
  t = await startTestRelay();
  account = await t.newAccount();
});
afterAll(async () => {
  await t?.close();
});

async function tlsSession(): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.connect(t.port);
  await c.command('EHLO client.test');
  await c.startTls();
  await c.command('EHLO client.test');
  return c;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Junk the lenient decoder skips, put inside valid base64: it decodes to the same bytes. */
const withJunk = (token: string) => `${token.slice(0, 4)}!*${token.slice(4)}`;

describe('AUTH with invalid base64', () => {
  it('the junk-mixed token really decodes to the right credentials with a lenient decoder (what smtp-server did)', () => {
    const token = b64(`\0${account.username}\0${account.password}`);
    expect(Buffer.from(withJunk(token), 'base64').toString()).toBe(`\0${account.username}\0${account.password}`);
    expect(isStrictBase64(token)).toBe(true);
    expect(isStrictBase64(withJunk(token))).toBe(false);
    expect(isStrictBase64('=')).toBe(true);
    expect(isStrictBase64('abc')).toBe(false);
  });

  it('AUTH PLAIN with the right password and junk mixed in gets 501 5.5.2, and the session stays unauthenticated', async () => {
    const c = await tlsSession();
    try {
      const r = await c.command(`AUTH PLAIN ${withJunk(b64(`\0${account.username}\0${account.password}`))}`);
      expect(`${r.code} ${r.text}`).toMatch(/^501 5\.5\.2 /);
      expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(530);
      // The same credentials, well encoded, still work on this connection.
      expect((await c.command(`AUTH PLAIN ${b64(`\0${account.username}\0${account.password}`)}`)).code).toBe(235);
    } finally {
      c.close();
    }
    expect(t.logs.some((l) => l.code === 'RELAY_AUTH_BAD_BASE64')).toBe(true);
  });

  it('AUTH PLAIN as a continuation line and AUTH LOGIN username or password with junk get 501 5.5.2', async () => {
    const c = await tlsSession();
    try {
      expect((await c.command('AUTH PLAIN')).code).toBe(334);
      expect(`${(await c.command(withJunk(b64(`\0${account.username}\0${account.password}`)))).code}`).toBe('501');

      expect((await c.command('AUTH LOGIN')).code).toBe(334);
      const user = await c.command(`${b64(account.username)}#`);
      expect(`${user.code} ${user.text}`).toMatch(/^501 5\.5\.2 /);

      expect((await c.command(`AUTH LOGIN ${b64(account.username)}`)).code).toBe(334);
      const pass = await c.command(withJunk(b64(account.password)));
      expect(`${pass.code} ${pass.text}`).toMatch(/^501 5\.5\.2 /);

      expect((await c.command(`AUTH LOGIN ${b64(account.username)}`)).code).toBe(334);
      expect((await c.command(b64(account.password))).code).toBe(235);
    } finally {
      c.close();
    }
  });
});

describe('NUL in a message', () => {
  it('the scanner finds a NUL whatever the chunking', () => {
    for (const chunks of [['a\0b\r\n'], ['a', '\0', 'b\r\n']]) {
      const s = new MessageScanner();
      for (const ch of chunks) s.push(Buffer.from(ch, 'latin1'));
      expect(s.end()).toBe('nul');
    }
  });

  it('is refused with 554 5.6.0 and nothing is queued', async () => {
    const before = await t.rt.db.models.queuedMessages.countDocuments({ accountId: account.accountId });
    const c = await RawSmtpClient.connect(t.port);
    try {
      expect((await c.login(account.username, account.password)).code).toBe(235);
      expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
      expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
      expect((await c.command('DATA')).code).toBe(354);
      c.write(Buffer.from('Subject: nul\r\n\r\nbefore\0after\r\n.\r\n', 'latin1'));
      const r = await c.read();
      expect(`${r.code} ${r.text}`).toBe('554 5.6.0 Message refused: a NUL byte in the message (RFC 5322)');
      expect((await c.command('NOOP')).code).toBe(250);
    } finally {
      c.close();
    }
    expect(await t.rt.db.models.queuedMessages.countDocuments({ accountId: account.accountId })).toBe(before);
  });
});
