// A relay SIGKILLed in the middle of group commits: once its counter batches are finished (recovery), the
// account's total and monthly sent and the workspace's quota usage equal exactly what the queue holds.
// The database sits behind a proxy that freezes the link at a commit's counter write, just before the kill.
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { createAccount, createWorkspace, monthKey, readUsage, showAccount } from '../../src/domain/index.ts';
import { accountMonthId, createLedger } from '../../src/store/ledger/index.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { admin } from '../helpers/domain.ts';
import { eventually } from '../helpers/relay.ts';
import { startRoleProcess } from '../helpers/role-process.ts';
import { SlowProxy } from '../helpers/slow-proxy.ts';
import { createServer } from 'node:net';

let h: DeliveryHarness;
let proxy: SlowProxy | null = null;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await proxy?.close();
  await h?.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The test database through the proxy (a single-host URI, as the test database server has). */
async function slowUri(uri: string, delayMs: number): Promise<string> {
  const m = /^mongodb:\/\/([^/@,]+):(\d+)(\/.*)?$/.exec(uri);
  if (!m) throw new Error(`this test needs a single-host MONGODB_URI, not ${uri}`);
  proxy = await new SlowProxy(m[1]!, Number(m[2])).start();
  proxy.delayMs = delayMs;
  return `mongodb://127.0.0.1:${proxy.port}${m[3] ?? ''}`;
}

it('counters equal the queue after a SIGKILL mid-commit, once the open batches are finished', async () => {
  const ws = await createWorkspace(h.rt.ctx, admin, { name: `crash-${Date.now().toString(36)}`, planId: '100k', defaultPlan: '10k' });
  const issued = await createAccount(h.rt.ctx, admin, ws.id, 'crash-test');
  const port = await freePort();
  const relay = startRoleProcess('relay', {
    MONGODB_URI: await slowUri(h.uri, 5),
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(port),
    RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
  });
  await relay.ready(60_000);

  let accepted = 0;
  let stop = false;
  const clients = Array.from({ length: 8 }, (_, c) =>
    (async () => {
      const t = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure: false,
        ignoreTLS: true,
        auth: { user: issued.username, pass: issued.password },
        pool: true,
        maxConnections: 1,
      });
      try {
        for (let i = 0; i < 60 && !stop; i++) {
          const to = Array.from({ length: 1 + (i % 3) }, (_, k) => `c${c}-${i}-${k}@example.test`);
          await t.sendMail({ envelope: { from: 'app@sender.test', to }, raw: testMessage() });
          accepted++;
        }
      } catch {
        // the relay died under this client
      } finally {
        t.close();
      }
    })(),
  );
  await eventually(() => accepted >= 30, 60_000, 'some messages to be accepted');
  const openOfThisAccount = async () => (await h.rt.ledger.batches()).filter((b) => b.state === 'open' && b.messages?.some((m) => m.accountId === issued.account.id));
  // Another process's recovery, once the killed relay's leases have run out (COUNTER_BATCH_STALE_SECONDS).
  const recoverLater = () =>
    createLedger(h.rt.db.models, h.rt.queue, { owner: 'recoverer', leaseMs: 60_000, clock: () => new Date(Date.now() + 600_000) }).recovery.runOnce(h.rt.log);
  // Freeze the database link at the next commit's counter write (an update of the accounts collection, after
  // its messages are stored), then kill: the quota is reserved and the messages stored, but not counted.
  proxy!.holdFrom = (chunk) => chunk.includes('update\0') && chunk.includes('accounts\0');
  await eventually(() => proxy!.holding, 30_000, 'a commit to reach its counter write');
  expect(await relay.kill('SIGKILL')).toBeNull();
  await proxy?.close();
  proxy = null;
  stop = true;
  await Promise.all(clients);

  // What the killed relay left: a batch still open (the kill came mid-commit).
  expect((await openOfThisAccount()).length).toBeGreaterThan(0);
  // ... whose messages are stored but not counted: without recovery the account would stay short.
  const storedBefore = (await h.rt.queue.listMessages({ workspaceId: ws.id, limit: 10_000 })).reduce((n, m) => n + m.recipients.length, 0);
  expect((await showAccount(h.rt.ctx, admin, ws.id, 'crash-test')).counters.sent).toBeLessThan(storedBefore);

  await recoverLater();

  const queued = await h.rt.queue.listMessages({ workspaceId: ws.id, limit: 10_000 });
  const emails = queued.reduce((n, m) => n + m.recipients.length, 0);
  expect(queued.length).toBeGreaterThanOrEqual(30);
  const account = await showAccount(h.rt.ctx, admin, ws.id, 'crash-test');
  expect(account.counters.sent).toBe(emails);
  const month = await h.rt.db.models.monthlyUsage.findById(accountMonthId(issued.account.id, monthKey(new Date()))).lean<{ sent: number }>();
  expect(month?.sent).toBe(emails);
  expect((await readUsage(h.rt.ctx, ws.id)).emailsThisMonth).toBe(emails);
  // Nothing left open for this account, and a second pass changes nothing.
  await recoverLater();
  expect((await showAccount(h.rt.ctx, admin, ws.id, 'crash-test')).counters.sent).toBe(emails);
  expect((await readUsage(h.rt.ctx, ws.id)).emailsThisMonth).toBe(emails);
}, 120_000);
