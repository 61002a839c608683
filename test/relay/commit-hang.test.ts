// A relay whose database link freezes in the middle of storing a message. What its client hears and what the
// store keeps must agree, whoever finishes the batch: a client told 451 (it sends again) must never have that
// message kept, counted or delivered, however late its insert reaches the database; a message the ledger
// counted must not have been answered 451. The link is a real TCP proxy that freezes, for longer than the
// batch's stale time, before or after the insert of the message documents reaches the database.
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { readUsage, showAccount } from '../../src/domain/index.ts';
import { admin } from '../helpers/domain.ts';
import { testDatabaseUri } from '../helpers/database.ts';
import { openDeliveryHarness, type DeliveryHarness } from '../helpers/delivery.ts';
import { eventually, startTestRelay, type TestRelay } from '../helpers/relay.ts';
import { SlowProxy, singleHostOf } from '../helpers/slow-proxy.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';

let elsewhere: DeliveryHarness;
let proxy: SlowProxy;
let t: TestRelay;
let sink: TestSink;
const STALE = { COUNTER_BATCH_STALE_SECONDS: '1' };

beforeAll(async () => {
  const uri = testDatabaseUri();
  const target = singleHostOf(uri)!;
  proxy = await new SlowProxy(target.host, target.port).start();
  sink = await startTestSink();
  // Another smtpdesk process on the same database, with a link that works.
  elsewhere = await openDeliveryHarness({ uri, env: { LOG_LEVEL: 'warn', ...STALE } });
  t = await startTestRelay({ uri: `mongodb://127.0.0.1:${proxy.port}${target.rest}`, dropDatabase: false, env: { RELAY_STORE_TIMEOUT_MS: '600', LOG_LEVEL: 'warn', ...STALE } });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await elsewhere?.close();
  await sink?.close();
});

/** The other process's recovery loop, one pass. */
const recoverElsewhere = () => elsewhere.rt.ledger.recovery.runOnce(elsewhere.rt.log);

it('a batch whose insert hangs past the stale time is not finished as accepted while its client got 451', async () => {
  const a = await t.newAccount();
  const queued = () => elsewhere.rt.db.models.queuedMessages.countDocuments({ accountId: a.accountId });
  proxy.holdFrom = (chunk) => chunk.includes('insert\0') && chunk.includes('queued_messages\0');
  const reply = await nodemailer
    .createTransport({ host: '127.0.0.1', port: t.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: a.username, pass: a.password } })
    .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: 'hung', text: 'hung' })
    .then(
      (info) => info.response,
      (err: { response?: string; message: string }) => err.response ?? err.message,
    );
  expect(reply).toMatch(/^451 /);
  expect(proxy.holding).toBe(true);

  // Past the stale time the other process finishes the batch its owner no longer holds (the owner's
  // heartbeat is frozen too); only then does the insert reach the database.
  await new Promise((r) => setTimeout(r, 1_500));
  await recoverElsewhere();
  // A worker of the other process looks for due mail all the time: it must not deliver what lands now.
  const worker = startDeliveryWorker(elsewhere.rt, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, pollMaxMs: 50, dueScanIntervalMs: 50, queueDepthIntervalMs: 0 });
  await proxy.deliverHeld();

  // What landed under a refused batch is withdrawn, by whoever looks next, and never counted.
  await eventually(
    async () => {
      await recoverElsewhere();
      return (await queued()) === 0;
    },
    15_000,
    'the late message to be withdrawn',
  );
  await worker.stop();
  expect(sink.messages.filter((m) => m.raw.includes('Subject: hung'))).toEqual([]);
  await t.relay.repaired(10_000);
  expect((await showAccount(elsewhere.rt.ctx, admin, t.workspace.id, a.name)).counters.sent).toBe(0);
  expect((await readUsage(elsewhere.rt.ctx, t.workspace.id)).emailsThisMonth).toBe(0);
}, 60_000);

it('a client whose insert landed before the link froze hears 250 once recovery elsewhere counted its batch, not 451', async () => {
  const a = await t.newAccount();
  const queued = () => elsewhere.rt.db.models.queuedMessages.countDocuments({ accountId: a.accountId, subject: 'frozen after insert' });
  proxy.freezeAfter = (chunk) => chunk.includes('insert\0') && chunk.includes('queued_messages\0');
  const reply = nodemailer
    .createTransport({ host: '127.0.0.1', port: t.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: a.username, pass: a.password } })
    .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: 'frozen after insert', text: 'frozen after insert' })
    .then(
      (info) => info.response,
      (err: { response?: string; message: string }) => err.response ?? err.message,
    );
  await eventually(async () => proxy.frozen, 10_000, 'the insert to go through and the link to freeze');
  // The store timeout (600 ms) and the try to record a refusal (1 s) pass: before, the client heard 451 here.
  // The batch's lease (1 s) runs out too, and the other process counts it: every message of it is stored.
  await new Promise((r) => setTimeout(r, 2_000));
  await recoverElsewhere();
  expect(await queued()).toBe(1);
  expect((await showAccount(elsewhere.rt.ctx, admin, t.workspace.id, a.name)).counters.sent).toBe(1);
  proxy.thaw();

  expect(await reply).toMatch(/^250 /);
  await t.relay.repaired(10_000);
  // Kept and counted once: what the client heard.
  expect(await queued()).toBe(1);
  expect((await showAccount(elsewhere.rt.ctx, admin, t.workspace.id, a.name)).counters.sent).toBe(1);
}, 60_000);
