// The delivery status notice is written together with the finish: the ledger batch of the finish holds it, so
// a worker that dies after writing the outcome but before storing the notice leaves it to recovery, which
// stores it exactly once. The sender learns of the bounce either way.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { showAccount } from '../../src/domain/index.ts';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { createLedger } from '../../src/store/ledger/index.ts';
import type { Queue } from '../../src/store/queue/index.ts';
import { admin } from '../helpers/domain.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { eventually } from '../helpers/relay.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

let h: DeliveryHarness;
let sink: TestSink;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
  sink = await startTestSink({ onRcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 <nobody@example.test>: User unknown' } : undefined) });
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

const bounceNotices = () => h.rt.db.models.queuedMessages.find({ kind: 'bounce', 'envelope.to': 'app@sender.test', subject: /Crash 7/ }).lean();

it('the DSN survives a crash between the finish and the storing of the notice', async () => {
  const bouncedBefore = (await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name)).counters.bounced;
  // The worker's process "dies" right after the outcome write: storing the notice (and everything after) fails.
  const dying: Queue = { ...h.rt.queue, storeNotices: () => Promise.reject(new Error('killed')) };
  const ledger = createLedger(h.rt.db.models, dying, { owner: 'dying', leaseMs: 60_000 });
  const worker = startDeliveryWorker({ ...h.rt, queue: dying, ledger }, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, pollMaxMs: 50, queueDepthIntervalMs: 0 });
  const id = await h.enqueue({ to: ['nobody@example.test'], body: testMessage({ messageId: '<crash-7@sender.test>', subject: 'Crash 7' }) });
  try {
    await eventually(async () => (await h.message(id)).state === 'done', 10_000, 'the outcome to be written');
  } finally {
    await worker.stop();
    await ledger.close();
  }
  expect((await h.message(id)).recipients[0]!.status).toBe('bounced');
  expect(await bounceNotices()).toHaveLength(0);

  // Another process's recovery, once the dead worker's batch lease has run out.
  const later = createLedger(h.rt.db.models, h.rt.queue, { owner: 'recoverer', leaseMs: 60_000, clock: () => new Date(Date.now() + 120_000) });
  await later.recovery.runOnce(h.rt.log);
  await later.recovery.runOnce(h.rt.log);
  const notices = await bounceNotices();
  expect(notices).toHaveLength(1);
  expect(notices[0]!.envelope?.from).toBe('');
  // The bounce is counted once too.
  expect((await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name)).counters.bounced - bouncedBefore).toBe(1);
  await later.close();
}, 60_000);
