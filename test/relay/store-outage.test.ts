// The store stops or is slow: the client gets 451 4.3.0, nothing it was told 451 about is kept or counted,
// and once the store is back the client's retry is accepted exactly once.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { monthKey } from '../../src/domain/index.ts';
import { cachedFerretDbBinary, startDedicatedFerretDb, type DedicatedFerretDb } from '../../src/store/embedded/index.ts';
import type { Queue } from '../../src/store/queue/index.ts';
import { withDatabaseName } from '../helpers/database.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

const month = () => monthKey(new Date());

function send(t: TestRelay, a: { username: string; password: string }, subject: string) {
  return nodemailer
    .createTransport({ host: '127.0.0.1', port: t.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: a.username, pass: a.password } })
    .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject, text: subject })
    .then(
      (info) => info.response,
      (err: { response?: string; message: string }) => err.response ?? err.message,
    );
}

/** What an application does after a 4xx: try again, a bounded number of times. */
async function sendUntilAccepted(t: TestRelay, a: { username: string; password: string }, subject: string): Promise<string[]> {
  const replies: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await send(t, a, subject);
    replies.push(r);
    if (r.startsWith('250 ')) return replies;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`not accepted after 40 tries: ${replies.join(' | ')}`);
}

async function subjectsQueued(t: TestRelay, accountId: string): Promise<string[]> {
  const docs = await t.rt.db.models.queuedMessages.find({ accountId }, { subject: 1 }).lean();
  return docs.map((d) => d.subject ?? '').sort();
}

const ferretDbAvailable = (await cachedFerretDbBinary()) !== null || spawnSync('go', ['version']).status === 0;

describe.skipIf(!ferretDbAvailable)('the database stops in the middle of messages', () => {
  let fdb: DedicatedFerretDb;
  let t: TestRelay;
  beforeAll(async () => {
    fdb = await startDedicatedFerretDb();
    t = await startTestRelay({
      uri: withDatabaseName(fdb.uri, 'smtpdesk_t_outage'),
      env: { RELAY_STORE_TIMEOUT_MS: '1500' },
      relay: { repairs: { firstDelayMs: 200, maxDelayMs: 1000 } },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await fdb?.dispose();
  });

  it('451 for the messages in flight and 454 for new AUTHs; after the restart each retried message is queued and counted once', async () => {
    const a = await t.newAccount();
    expect(await send(t, a, 'before the outage')).toMatch(/^250 /);

    // Three sessions are in the middle of DATA when the database goes away.
    const subjects = ['in flight 1', 'in flight 2', 'in flight 3'];
    const sessions = await Promise.all(
      subjects.map(async (subject) => {
        const c = await RawSmtpClient.connect(t.port);
        expect((await c.login(a.username, a.password)).code).toBe(235);
        expect((await c.command('MAIL FROM:<app@example.com>')).code).toBe(250);
        expect((await c.command('RCPT TO:<someone@example.org>')).code).toBe(250);
        expect((await c.command('DATA')).code).toBe(354);
        c.write(`Subject: ${subject}\r\n\r\nfirst half\r\n`);
        return c;
      }),
    );
    await fdb.stop();
    const replies = await Promise.all(
      sessions.map(async (c) => {
        c.write('second half\r\n.\r\n');
        const r = await c.read();
        c.close();
        return `${r.code} ${r.text}`;
      }),
    );
    expect(replies).toEqual(Array(3).fill('451 4.3.0 Temporary failure storing the message, try again later (it was not accepted)'));
    expect(t.logs.filter((l) => l.code === 'RELAY_STORE_UNAVAILABLE').length).toBeGreaterThanOrEqual(3);

    // A new connection cannot authenticate while the accounts cannot be read: temporary, not 535.
    const fresh = await RawSmtpClient.connect(t.port);
    const auth = await fresh.login(a.username, a.password);
    fresh.close();
    expect(`${auth.code} ${auth.text}`).toBe('454 4.7.0 Temporary authentication failure, try again later');

    await fdb.restart();
    // The application retries each message until it is accepted.
    for (const s of subjects) await sendUntilAccepted(t, a, s);
    expect(await t.relay.repaired(20_000)).toBe(true);

    expect(await subjectsQueued(t, a.accountId)).toEqual(['before the outage', ...subjects]);
    expect(await t.rt.ctx.usage.workspaceSent(t.workspace.id, month())).toBe(4);
    expect((await t.rt.ctx.accounts.findById(a.accountId))!.counters.sent).toBe(4);
  }, 60_000);
});

describe('the store answers after the deadline', () => {
  let t: TestRelay;
  let delayMs = 0;
  beforeAll(async () => {
    t = await startTestRelay({
      env: { RELAY_STORE_TIMEOUT_MS: '300' },
      relay: (rt) => {
        const real = rt.queue;
        const slow: Queue = {
          ...real,
          async enqueueMany(msgs) {
            if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
            return real.enqueueMany(msgs);
          },
        };
        return { queue: slow, repairs: { firstDelayMs: 100, maxDelayMs: 500 } };
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a message stored after its 451 is withdrawn and its quota given back; the retry is the only copy', async () => {
    const a = await t.newAccount();
    delayMs = 1_000;
    expect(await send(t, a, 'slow store')).toBe('451 4.3.0 Temporary failure storing the message, try again later (it was not accepted)');
    expect(await t.relay.repaired(10_000)).toBe(true);
    expect(t.logs.some((l) => l.code === 'RELAY_LATE_COMMIT_REMOVED')).toBe(true);
    expect(await subjectsQueued(t, a.accountId)).toEqual([]);
    expect(await t.rt.db.models.messageChunks.countDocuments({})).toBe(0);
    expect(await t.rt.ctx.usage.workspaceSent(t.workspace.id, month())).toBe(0);
    expect((await t.rt.ctx.accounts.findById(a.accountId))!.counters.sent).toBe(0);

    delayMs = 0;
    expect(await send(t, a, 'slow store')).toMatch(/^250 /);
    expect(await subjectsQueued(t, a.accountId)).toEqual(['slow store']);
    expect(await t.rt.ctx.usage.workspaceSent(t.workspace.id, month())).toBe(1);
  });
});
