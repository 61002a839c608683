// What a client cannot get past the relay: oversized messages, SMTP smuggling (bare CR/LF end-of-data
// tricks), control characters in the envelope, too many recipients, over-long lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { monthKey } from '../../src/domain/index.ts';
import { storedBody } from '../helpers/queue.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

const MAX_SIZE = 64 * 1024;
let t: TestRelay;
let account: { username: string; password: string; accountId: string };

beforeAll(async () => {
  t = await startTestRelay({ env: { RELAY_MAX_MESSAGE_SIZE: String(MAX_SIZE), RELAY_MAX_RECIPIENTS: '3' } });
  account = await t.newAccount();
});
afterAll(async () => {
  await t?.close();
});

const queued = () => t.rt.db.models.queuedMessages.countDocuments({ accountId: account.accountId });
const used = () => t.rt.ctx.usage.workspaceSent(t.workspace.id, monthKey(new Date()));

async function session(): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.connect(t.port);
  const r = await c.login(account.username, account.password);
  expect(r.code).toBe(235);
  return c;
}

/** MAIL, RCPT, DATA; then the payload in the given pieces (a short pause between them), and the one reply. */
async function sendRaw(c: RawSmtpClient, pieces: string[]): Promise<string> {
  expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
  expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  for (const [i, p] of pieces.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, 30));
    c.write(p);
  }
  const r = await c.read();
  return `${r.code} ${r.text}`;
}

describe('SMTP smuggling', () => {
  const smuggled = 'MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<target@victim.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nwire the money\r\n';
  const vectors: [string, string][] = [
    ['<LF>.<LF>', '\n.\n'],
    ['<LF>.<CR><LF>', '\n.\r\n'],
    ['<CR>.<CR>', '\r.\r'],
    ['<CR><LF>.<LF>', '\r\n.\n'],
    ['.. after a bare LF', '\n..\r\n'],
    ['<CR>.<CR><LF>', '\r.\r\n'],
  ];

  it.each(vectors)('%s neither ends the message early nor passes: one 554 for the whole thing, nothing queued', async (_name, trick) => {
    const before = { queued: await queued(), used: await used() };
    const c = await session();
    try {
      const head = 'From: app@example.com\r\nSubject: smuggling test\r\n\r\nfirst message';
      // In one write, and split right at the trick (the parser sees it across a chunk boundary).
      for (const pieces of [[`${head}${trick}${smuggled}.\r\n`], [head, trick, `${smuggled}.\r\n`]]) {
        const reply = await sendRaw(c, pieces);
        expect(reply).toMatch(/^554 5\.6\.0 Message refused: bare (LF|CR) in the message/);
        // Exactly one reply: the smuggled commands were message content, and the session is in step.
        const noop = await c.command('NOOP');
        expect(noop.code).toBe(250);
      }
    } finally {
      c.close();
    }
    expect(await queued()).toBe(before.queued);
    expect(await used()).toBe(before.used);
  });

  it('a dot-stuffed line after CRLF is unstuffed, and a well-formed message passes intact', async () => {
    const c = await session();
    try {
      const reply = await sendRaw(c, ['Subject: dots\r\n\r\nline one\r\n..hidden dot line\r\n...\r\nend\r\n.\r\n']);
      expect(reply).toMatch(/^250 2\.6\.0 Queued as [0-9a-f]{24}$/);
      const body = (await storedBody(t.rt.db.models, reply.split(' ').pop()!)).toString('latin1');
      expect(body.endsWith('Subject: dots\r\n\r\nline one\r\n.hidden dot line\r\n..\r\nend\r\n')).toBe(true);
    } finally {
      c.close();
    }
  });

  it('with RELAY_ADD_MISSING_HEADERS=false a message without Message-ID and Date is stored as sent', async () => {
    const plain = await startTestRelay({ env: { RELAY_ADD_MISSING_HEADERS: 'false' } });
    const a = await plain.newAccount();
    const c = await RawSmtpClient.connect(plain.port);
    try {
      expect((await c.login(a.username, a.password)).code).toBe(235);
      const reply = await sendRaw(c, ['Subject: bare\r\n\r\nno id, no date\r\n.\r\n']);
      const body = (await storedBody(plain.rt.db.models, reply.split(' ').pop()!)).toString('latin1');
      expect(body).toMatch(/^Received: [^]*\r\nSubject: bare\r\n\r\nno id, no date\r\n$/);
      expect(body).not.toMatch(/^(Message-ID|Date):/im);
    } finally {
      c.close();
      await plain.close();
    }
  });

  it('a line longer than 998 characters is refused with 554', async () => {
    const c = await session();
    try {
      const reply = await sendRaw(c, [`Subject: long\r\n\r\n${'x'.repeat(999)}\r\n.\r\n`]);
      expect(reply).toBe('554 5.6.0 Message refused: a line is longer than 998 characters (RFC 5322)');
    } finally {
      c.close();
    }
  });
});

describe('size limit', () => {
  it('a message over RELAY_MAX_MESSAGE_SIZE is read to the end and refused with 552; nothing is queued or counted', async () => {
    const before = { queued: await queued(), used: await used() };
    const tr = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.port,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: account.username, pass: account.password },
    });
    const big = `${'0123456789abcdef'.repeat(64)}\n`.repeat(Math.ceil((MAX_SIZE * 1.5) / 1025));
    const err = (await tr.sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: 'big', text: big }).catch((e: unknown) => e)) as {
      responseCode?: number;
      response?: string;
    };
    expect(err.responseCode).toBe(552);
    expect(err.response).toMatch(/^552 5\.3\.4 .*maximum message size/);
    // The same connection still works after the refusal: the whole message was consumed.
    expect((await tr.sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: 'small', text: 'ok' })).response).toMatch(/^250 /);
    expect(await queued()).toBe(before.queued + 1);
    expect(await used()).toBe(before.used + 1);
    expect(t.logs.some((l) => l.code === 'RELAY_MESSAGE_REFUSED' && l.reason === 'too_big')).toBe(true);
  });

  it('a declared SIZE over the limit is refused at MAIL FROM', async () => {
    const c = await session();
    try {
      const r = await c.command(`MAIL FROM:<app@example.com> SIZE=${MAX_SIZE + 1}`);
      expect(r.code).toBe(552);
    } finally {
      c.close();
    }
  });
});

describe('envelope', () => {
  const bad: [string, string][] = [
    ['NUL in the sender', 'MAIL FROM:<a\0b@example.com>'],
    ['bare CR in the sender', 'MAIL FROM:<a\rb@example.com>'],
    ['CR LF smuggled in a parameter (xtext)', 'MAIL FROM:<app@example.com> ENVID=ab+0D+0Acd'],
    ['NUL in a parameter (xtext)', 'MAIL FROM:<app@example.com> ENVID=ab+00cd'],
  ];
  it.each(bad)('%s: refused with a 5xx, and the session goes on', async (_name, line) => {
    const c = await session();
    try {
      const r = await c.command(line);
      expect(r.code).toBeGreaterThanOrEqual(500);
      expect(r.code).toBeLessThan(600);
      expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
    } finally {
      c.close();
    }
  });

  it.each([
    ['NUL in a recipient', 'RCPT TO:<x\0y@example.org>'],
    ['bare CR in a recipient', 'RCPT TO:<x\ry@example.org>'],
  ])('%s: refused with a 5xx', async (_name, line) => {
    const c = await session();
    try {
      expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
      const r = await c.command(line);
      expect(r.code).toBeGreaterThanOrEqual(500);
      expect((await c.command('DATA')).code).toBe(503); // no recipient was taken
    } finally {
      c.close();
    }
  });

  it('an address delivery could never use is refused at once with 553 and the reason; nothing is counted', async () => {
    const before = await used();
    const c = await session();
    try {
      const sender = await c.command('MAIL FROM:<app@[192.0.2.1]>');
      expect(`${sender.code} ${sender.text}`).toMatch(/^553 5\.1\.\d Bad sender address <app@\[192\.0\.2\.1\]>: address literals are not delivered$/);
      expect((await c.command('MAIL FROM:<>')).code).toBe(250); // the null sender stays allowed
      // smtp-server already answers 501 to plain syntax errors (a..b@, -bad-.example); these get past it.
      const cases: [string, string][] = [
        ['x@[10.0.0.5]', 'address literals are not delivered'],
        [`x@${'d'.repeat(64)}.example.org`, 'not a valid domain name'],
        [`${'l'.repeat(65)}@example.org`, 'local part longer than 64 characters'],
      ];
      for (const [address, why] of cases) {
        const r = await c.command(`RCPT TO:<${address}>`);
        expect(`${r.code} ${r.text}`).toMatch(new RegExp(`^553 5\\.1\\.\\d Bad recipient address <${address.replace(/[.[\]]/g, '\\$&')}>: ${why}$`));
      }
      expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
      expect((await c.command('RSET')).code).toBe(250);
    } finally {
      c.close();
    }
    expect(await used()).toBe(before);
    expect(t.logs.some((l) => l.code === 'RELAY_ENVELOPE_INVALID' && l.problem === 'address literals are not delivered')).toBe(true);
  });

  it('an LF inside an address splits the line: neither half becomes an address', async () => {
    const c = await session();
    try {
      const first = await c.command('MAIL FROM:<a\nb@example.com>');
      expect(first.code).toBe(501);
      const second = await c.read();
      expect(second.code).toBeGreaterThanOrEqual(500);
      expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(503); // no MAIL was taken
    } finally {
      c.close();
    }
  });

  it(`past RELAY_MAX_RECIPIENTS a recipient gets 452; the message goes with the ones accepted, each counted`, async () => {
    const before = await used();
    const c = await session();
    try {
      expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
      for (const n of [1, 2, 3]) expect((await c.command(`RCPT TO:<r${n}@example.org>`)).code).toBe(250);
      const fourth = await c.command('RCPT TO:<r4@example.org>');
      expect(`${fourth.code} ${fourth.text}`).toMatch(/^452 4\.5\.3 /);
      expect((await c.command('DATA')).code).toBe(354);
      c.write('Subject: three\r\n\r\nhi\r\n.\r\n');
      const r = await c.read();
      expect(r.code).toBe(250);
      const doc = await t.rt.db.models.queuedMessages.findById(r.text.split(' ').pop()).lean();
      expect(doc!.envelope!.to).toEqual(['r1@example.org', 'r2@example.org', 'r3@example.org']);
    } finally {
      c.close();
    }
    expect(await used()).toBe(before + 3);
  });
});
