// Allowed senders and rate limits, set with the real CLI and enforced by the real relay against real clients:
// nodemailer for what applications send, a raw client for header tricks, two relay instances on one database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

let a: TestRelay;
let b: TestRelay;

beforeAll(async () => {
  a = await startTestRelay();
  // A second instance on the same database: its own process state (caches, counters), shared documents.
  b = await startTestRelay({ uri: a.rt.config.database.uri, dropDatabase: false });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

function cli(args: string[]) {
  return runSmtpdesk(args, { MONGODB_URI: a.rt.config.database.uri, SMTPDESK_WORKSPACE: a.workspace.name });
}

function transport(port: number, user: { username: string; password: string }) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: user.username, pass: user.password } });
}

type SendError = { responseCode?: number; response?: string; rejected?: string[]; rejectedErrors?: { response?: string }[] };

describe('allowed senders', () => {
  let acct: Awaited<ReturnType<TestRelay['newAccount']>>;
  beforeAll(async () => {
    acct = await a.newAccount();
    const set = await cli(['accounts', 'set', acct.name, '--allowed-senders', 'noreply@acme.test, *@billing.acme.test, news.acme.test']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('noreply@acme.test, *@billing.acme.test, *@news.acme.test');
  });

  it('accounts show lists them; the change is audited', async () => {
    const show = await cli(['accounts', 'show', acct.name, '--json']);
    expect(show.json<{ allowedSenders: string[] }>().allowedSenders).toEqual(['noreply@acme.test', 'billing.acme.test', 'news.acme.test']);
    const audit = await cli(['audit', acct.name, '--json']);
    expect(audit.stdout).toContain('account.limits_changed');
  });

  it('an allowed envelope and header sender is delivered', async () => {
    const info = await transport(a.port, acct).sendMail({ from: 'Billing <invoices@billing.acme.test>', to: 'x@example.org', subject: 'ok', text: 'hi' });
    expect(info.response).toMatch(/^250 2\.6\.0 Queued as /);
    const alsoOk = await transport(a.port, acct).sendMail({
      envelope: { from: 'noreply@acme.test', to: 'x@example.org' },
      from: 'a@news.acme.test',
      to: 'x@example.org',
      text: 'hi',
    });
    expect(alsoOk.response).toMatch(/^250 /);
  });

  it('a disallowed envelope sender is refused at MAIL FROM with 550 5.7.1 naming the rules', async () => {
    const err = (await transport(a.port, acct)
      .sendMail({ envelope: { from: 'ceo@evil.test', to: 'x@example.org' }, from: 'noreply@acme.test', to: 'x@example.org', text: 'hi' })
      .catch((e: unknown) => e)) as SendError;
    expect(err.responseCode).toBe(550);
    expect(err.response).toMatch(
      /^550 5\.7\.1 Sender <ceo@evil\.test> is not an allowed sender of smtp-\w+ \(allowed senders: noreply@acme\.test, \*@billing\.acme\.test, \*@news\.acme\.test\)/,
    );
    // Subdomains of an exact domain rule are not covered.
    const sub = (await transport(a.port, acct)
      .sendMail({ from: 'x@sub.billing.acme.test', to: 'x@example.org', text: 'hi' })
      .catch((e: unknown) => e)) as SendError;
    expect(sub.responseCode).toBe(550);
  });

  it('a disallowed header From is refused at the end of DATA with 550 5.7.1, the null sender is allowed', async () => {
    const err = (await transport(a.port, acct)
      .sendMail({ envelope: { from: 'noreply@acme.test', to: 'x@example.org' }, from: '"noreply@acme.test" <ceo@evil.test>', to: 'x@example.org', text: 'hi' })
      .catch((e: unknown) => e)) as SendError;
    expect(err.responseCode).toBe(550);
    expect(err.response).toMatch(/^550 5\.7\.1 Header From <ceo@evil\.test> is not an allowed sender/);

    const c = await RawSmtpClient.connect(a.port);
    try {
      expect((await c.login(acct.username, acct.password)).code).toBe(235);
      expect((await c.command('MAIL FROM:<>')).code).toBe(250);
      expect((await c.command('RCPT TO:<x@example.org>')).code).toBe(250);
      expect((await c.command('DATA')).code).toBe(354);
      // A second From: header does not get past: readers differ on which one they show, so none is trusted.
      const r = await c.command('From: noreply@acme.test\r\nFrom: ceo@evil.test\r\nSubject: two\r\n\r\nx\r\n.');
      expect(`${r.code} ${r.text}`).toBe('550 5.7.1 Message refused: it has 2 From: headers; RFC 5322 allows exactly one');
      // A display name holding an address is only a name: the address checked is the one DKIM will sign for.
      expect((await c.command('MAIL FROM:<>')).code).toBe(250);
      expect((await c.command('RCPT TO:<x@example.org>')).code).toBe(250);
      expect((await c.command('DATA')).code).toBe(354);
      const spoof = await c.command('From: "noreply@acme.test" <ceo@evil.test>\r\nSubject: name\r\n\r\nx\r\n.');
      expect(`${spoof.code} ${spoof.text}`).toMatch(/^550 5\.7\.1 Header From <ceo@evil\.test> is not an allowed sender/);
      expect((await c.command('MAIL FROM:<>')).code).toBe(250);
      expect((await c.command('RCPT TO:<x@example.org>')).code).toBe(250);
      expect((await c.command('DATA')).code).toBe(354);
      expect((await c.command('From: noreply@acme.test\r\nSubject: bounce\r\n\r\nx\r\n.')).code).toBe(250);
    } finally {
      c.close();
    }
  });

  it('a change applies from the next message of an open session, and "" clears the list', async () => {
    const c = await RawSmtpClient.connect(a.port);
    try {
      expect((await c.login(acct.username, acct.password)).code).toBe(235);
      expect((await c.command('MAIL FROM:<ceo@evil.test>')).code).toBe(550);
      const clear = await cli(['accounts', 'set', acct.name, '--allowed-senders', '']);
      expect(clear.code, clear.stderr).toBe(0);
      expect(clear.stdout).toContain('any sender');
      // The MAIL FROM check may answer from what it read up to RELAY_SESSION_CHECK_CACHE_MS (1 s) ago.
      await new Promise((r) => setTimeout(r, 1100));
      expect((await c.command('MAIL FROM:<ceo@evil.test>')).code).toBe(250);
    } finally {
      c.close();
    }
  });

  it('a malformed rule is refused by the CLI with the reason', async () => {
    const bad = await cli(['accounts', 'set', acct.name, '--allowed-senders', 'noreply@, @x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Not an allowed-sender rule');
  });
});

describe('rate limit', () => {
  it('5/m lets five recipients through and answers 451 4.7.1 with the retry time to the sixth, across two relay instances', async () => {
    const acct = await a.newAccount();
    const set = await cli(['accounts', 'set', acct.name, '--rate-limit', '5/m']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('5 recipients per minute');
    // Never across a minute boundary: the window is the UTC minute.
    const s = new Date().getSeconds();
    if (s > 50) await new Promise((r) => setTimeout(r, (61 - s) * 1000));

    // Two recipients on instance A, two on B, one on A: five.
    expect((await transport(a.port, acct).sendMail({ from: 'a@x.test', to: ['r1@example.org', 'r2@example.org'], text: '1' })).accepted).toHaveLength(2);
    expect((await transport(b.port, acct).sendMail({ from: 'a@x.test', to: ['r3@example.org', 'r4@example.org'], text: '2' })).accepted).toHaveLength(2);
    expect((await transport(a.port, acct).sendMail({ from: 'a@x.test', to: 'r5@example.org', text: '3' })).accepted).toHaveLength(1);
    // The sixth, on B.
    const err = (await transport(b.port, acct)
      .sendMail({ from: 'a@x.test', to: 'r6@example.org', text: '4' })
      .catch((e: unknown) => e)) as SendError;
    expect(err.responseCode).toBe(451);
    expect(err.response).toMatch(/^451 4\.7\.1 Rate limit of smtp-\w+ reached \(5 recipients per minute\): try again after \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z \(in \d+ s\)/);
    // And on A too.
    const onA = (await transport(a.port, acct)
      .sendMail({ from: 'a@x.test', to: 'r7@example.org', text: '5' })
      .catch((e: unknown) => e)) as SendError;
    expect(onA.responseCode).toBe(451);
    expect(b.logs.some((l) => l.code === 'RELAY_RATE_LIMITED')).toBe(true);

    const cleared = await cli(['accounts', 'set', acct.name, '--rate-limit', 'none']);
    expect(cleared.stdout).toContain('no limit');
    expect((await transport(b.port, acct).sendMail({ from: 'a@x.test', to: 'r8@example.org', text: '6' })).accepted).toHaveLength(1);
  });

  it('an account without a limit writes no rate window', async () => {
    const acct = await a.newAccount();
    await transport(a.port, acct).sendMail({ from: 'a@x.test', to: ['q1@example.org', 'q2@example.org'], text: 'x' });
    expect(await a.rt.db.models.rateWindows.countDocuments({ _id: { $regex: `^${acct.accountId}:` } })).toBe(0);
  });

  it('a malformed rate limit is refused', async () => {
    const acct = await a.newAccount();
    const bad = await cli(['accounts', 'set', acct.name, '--rate-limit', '100/week']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Not a rate limit');
  });
});
