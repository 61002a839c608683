// AUTH against the accounts in the database, with real clients over STARTTLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { deleteAccount, disableAccount, enableAccount, rotateAccountPassword } from '../../src/domain/index.ts';
import { storedBody } from '../helpers/queue.ts';
import { admin } from '../helpers/domain.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;
beforeAll(async () => {
  // Many failed AUTHs on purpose here: keep the brute-force guard out of the way (brute-force.test.ts covers it).
  t = await startTestRelay({ env: { RELAY_BRUTE_FORCE_SLOW_AFTER: '1000', RELAY_BRUTE_FORCE_BLOCK_AFTER: '2000' } });
});
afterAll(async () => {
  await t?.close();
});

function transport(user: string, pass: string, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.port,
    secure: false,
    requireTLS: true,
    name: 'client.test',
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    ...extra,
  });
}

const mail = (subject: string) => ({ from: 'app@example.com', to: 'someone@example.org', subject, text: `hello ${subject}` });

async function authReply(user: string, pass: string): Promise<string> {
  const c = await RawSmtpClient.connect(t.port);
  try {
    const r = await c.login(user, pass);
    return `${r.code} ${r.text}`;
  } finally {
    c.close();
  }
}

describe('AUTH over STARTTLS with nodemailer', () => {
  it.each(['PLAIN', 'LOGIN'])('AUTH %s: the message is queued with its envelope and body, and counted for the account', async (method) => {
    const a = await t.newAccount();
    const info = await transport(a.username, a.password, { authMethod: method }).sendMail(mail(`via ${method}`));
    expect(info.response).toMatch(/^250 2\.6\.0 Queued as [0-9a-f]{24}$/);
    const queueId = info.response.split(' ').pop()!;

    const doc = await t.rt.db.models.queuedMessages.findById(queueId).lean();
    expect(doc).toMatchObject({ accountId: a.accountId, username: a.username, envelope: { from: 'app@example.com', to: ['someone@example.org'] }, state: 'queued' });
    expect(doc!.subject).toBe(`via ${method}`);
    const body = (await storedBody(t.rt.db.models, queueId)).toString();
    expect(body).toMatch(new RegExp(`^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby localhost \\(smtpdesk\\) with ESMTPSA id ${queueId};`, 's'));
    expect(body).toContain(`hello via ${method}`);
    // nodemailer wrote its own Message-ID and Date: kept, and nothing added.
    expect([body.match(/^Message-ID:/gim)?.length, body.match(/^Date:/gim)?.length]).toEqual([1, 1]);
    expect(doc!.messageId).toBe(info.messageId);

    const account = await t.rt.ctx.accounts.findById(a.accountId);
    expect(account!.counters.sent).toBe(1);
    expect(account!.lastUsedAt).toBeInstanceOf(Date);
  });

  it('without AUTH a message is refused with 530', async () => {
    const err = await nodemailer
      .createTransport({ host: '127.0.0.1', port: t.port, secure: false, tls: { rejectUnauthorized: false } })
      .sendMail(mail('no auth'))
      .catch((e: { response?: string }) => e);
    expect(err.response).toMatch(/^530 /);
  });
});

describe('every failed AUTH gets the same answer', () => {
  it('wrong password, unknown username, disabled and deleted account: 535 5.7.8 Authentication failed', async () => {
    const wrong = await t.newAccount();
    const disabled = await t.newAccount();
    const deleted = await t.newAccount();
    await disableAccount(t.rt.ctx, admin, t.workspace.id, disabled.name, 'maintenance');
    await deleteAccount(t.rt.ctx, admin, t.workspace.id, deleted.name, { confirmName: deleted.name });

    const replies = [
      await authReply(wrong.username, `${wrong.password}x`),
      await authReply('smtp-nosuchuser', 'whatever-password'),
      await authReply(disabled.username, disabled.password),
      await authReply(deleted.username, deleted.password),
    ];
    expect(replies).toEqual(Array(4).fill('535 5.7.8 Authentication failed'));

    // The log says why (for operators), the client never does.
    const reasons = t.logs.filter((l) => l.code === 'RELAY_AUTH_FAILED').map((l) => l.reason);
    expect(reasons).toEqual(expect.arrayContaining(['bad_password', 'unknown_user', 'disabled']));
  });

  it('nodemailer sees the 535 as an authentication error', async () => {
    const a = await t.newAccount();
    const err = (await transport(a.username, 'not-the-password')
      .sendMail(mail('x'))
      .catch((e: unknown) => e)) as { code?: string; responseCode?: number };
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe(535);
  });
});

describe('TLS before AUTH', () => {
  it('AUTH on a cleartext connection is refused (538) and the account is not checked', async () => {
    const a = await t.newAccount();
    const c = await RawSmtpClient.connect(t.port);
    const r = await c.login(a.username, a.password, { tls: false });
    c.close();
    expect(r.code).toBe(538);
  });

  it('RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK lets a loopback client AUTH without TLS', async () => {
    const insecure = await startTestRelay({ env: { RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true' } });
    try {
      const a = await insecure.newAccount();
      const c = await RawSmtpClient.connect(insecure.port);
      const r = await c.login(a.username, a.password, { tls: false });
      c.close();
      expect(`${r.code} ${r.text}`).toBe('235 2.7.0 Authentication successful');
    } finally {
      await insecure.close();
    }
  });
});

describe('account changes take effect at once', () => {
  it('a session opened before the account was disabled can start no further message', async () => {
    const a = await t.newAccount();
    const tr = transport(a.username, a.password, { pool: true, maxConnections: 1 });
    try {
      expect((await tr.sendMail(mail('before disable'))).response).toMatch(/^250 /);
      await disableAccount(t.rt.ctx, admin, t.workspace.id, a.name, 'suspected_compromise');
      const err = (await tr.sendMail(mail('after disable')).catch((e: unknown) => e)) as { response?: string };
      expect(err.response).toBe(`530 5.7.0 Account ${a.username} is disabled: no further mail is accepted on this connection`);
    } finally {
      tr.close();
    }
    expect(t.logs.some((l) => l.code === 'RELAY_SESSION_REVOKED' && l.username === a.username && l.reason === 'disabled')).toBe(true);
    // and a new AUTH fails like any other
    expect(await authReply(a.username, a.password)).toBe('535 5.7.8 Authentication failed');
    // enable restores the same credentials
    await enableAccount(t.rt.ctx, admin, t.workspace.id, a.name);
    expect(await authReply(a.username, a.password)).toBe('235 2.7.0 Authentication successful');
  });

  it('a verified credential is served from the cache, and rotate invalidates it at once', async () => {
    const a = await t.newAccount();
    const results = () =>
      t.logs.filter((l) => (l.code === 'RELAY_AUTH_OK' || l.code === 'RELAY_AUTH_CACHED') && l.username === a.username).map((l) => l.code === 'RELAY_AUTH_CACHED');
    expect(await authReply(a.username, a.password)).toMatch(/^235 /);
    expect(await authReply(a.username, a.password)).toMatch(/^235 /);
    expect(results()).toEqual([false, true]);

    const rotated = await rotateAccountPassword(t.rt.ctx, admin, t.workspace.id, a.name);
    expect(await authReply(a.username, a.password)).toBe('535 5.7.8 Authentication failed');
    expect(await authReply(a.username, rotated.password)).toMatch(/^235 /);
    expect(results()).toEqual([false, true, false]);
  });

  it('20 connections authenticating at once with a cold cache all succeed', async () => {
    const a = await t.newAccount();
    const replies = await Promise.all(Array.from({ length: 20 }, () => authReply(a.username, a.password)));
    expect(replies).toEqual(Array(20).fill('235 2.7.0 Authentication successful'));
  });

  it('a session opened before a rotate must authenticate again', async () => {
    const a = await t.newAccount();
    const c = await RawSmtpClient.connect(t.port);
    try {
      expect((await c.login(a.username, a.password)).code).toBe(235);
      await rotateAccountPassword(t.rt.ctx, admin, t.workspace.id, a.name);
      const r = await c.command('MAIL FROM:<app@example.com>');
      expect(`${r.code} ${r.text}`).toBe(`530 5.7.0 Credentials of ${a.username} changed: authenticate again`);
    } finally {
      c.close();
    }
  });
});

describe('secrets stay out of the logs', () => {
  it('no password, correct or wrong, appears in any captured log line', async () => {
    const a = await t.newAccount();
    await transport(a.username, a.password, { authMethod: 'PLAIN' }).sendMail(mail('log check'));
    await transport(a.username, a.password, { authMethod: 'LOGIN' }).sendMail(mail('log check 2'));
    const wrong = 'Wr0ng-Pa55word-that-must-not-be-logged';
    await transport(a.username, wrong)
      .sendMail(mail('x'))
      .catch(() => undefined);
    const logs = t.rawLogs();
    expect(logs).toContain(a.username);
    expect(logs).not.toContain(a.password);
    expect(logs).not.toContain(wrong);
    expect(logs).not.toContain(Buffer.from(`\0${a.username}\0${a.password}`).toString('base64'));
  });
});

describe('metrics', () => {
  it('counts connections, AUTH results by reason and messages by reply code', async () => {
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const metric = (await t.rt.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
      const rows = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
      return rows.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
    };
    const before = {
      connections: await value('smtpdesk_smtp_connections_total'),
      cached: await value('smtpdesk_smtp_auth_total', { result: 'success', reason: 'cached' }),
      bad: await value('smtpdesk_smtp_auth_total', { result: 'failure', reason: 'bad_credentials' }),
      accepted: await value('smtpdesk_smtp_messages_total', { result: 'accepted', code: '250' }),
    };
    const a = await t.newAccount();
    await transport(a.username, a.password).sendMail(mail('m1'));
    await transport(a.username, a.password).sendMail(mail('m2'));
    await transport(a.username, 'wrong')
      .sendMail(mail('m3'))
      .catch(() => undefined);
    expect(await value('smtpdesk_smtp_connections_total')).toBe(before.connections + 3);
    expect(await value('smtpdesk_smtp_auth_total', { result: 'success', reason: 'cached' })).toBe(before.cached + 1);
    expect(await value('smtpdesk_smtp_auth_total', { result: 'failure', reason: 'bad_credentials' })).toBe(before.bad + 1);
    expect(await value('smtpdesk_smtp_messages_total', { result: 'accepted', code: '250' })).toBe(before.accepted + 2);
  });
});
