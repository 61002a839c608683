// A worker process killed with SIGKILL in the middle of deliveries: its leases are not renewed, so once they
// expire another worker delivers what it held. Nothing is lost; a message can arrive twice only when the
// upstream had already answered 250 to the dead worker (delivery is at least once).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';
import { startWorkerProcess } from '../helpers/worker-process.ts';
import { eventually } from '../helpers/relay.ts';

const MESSAGES = 40;

let h: DeliveryHarness;
let sink: TestSink;
/** When the sink had each copy it accepted in full (end of DATA; its 250 follows). */
const acceptedAt: { messageId: string; at: number }[] = [];

beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
  // Slow answers to DATA keep several deliveries in flight when the kill comes.
  sink = await startTestSink({
    dataDelayMs: 250,
    onData: (m) => {
      if (m.messageId) acceptedAt.push({ messageId: m.messageId, at: m.receivedAt });
    },
  });
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

it('delivers what a SIGKILLed worker held once its leases expire, losing nothing', async () => {
  for (let i = 0; i < MESSAGES; i++) {
    await h.enqueue({ to: [`user${i}@example.test`], body: testMessage({ messageId: `<crash-${i}@sender.test>` }) });
  }
  const victim = startWorkerProcess({
    MONGODB_URI: h.uri,
    RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sink.port}`,
    DELIVERY_LEASE_SECONDS: '2',
    DELIVERY_CONCURRENCY: '6',
    DELIVERY_HELO_NAME: 'victim.test',
  });
  await victim.ready();
  await eventually(() => sink.messages.length >= 6, 20_000, 'the child worker to deliver some messages');
  const held = await h.rt.db.models.queuedMessages.countDocuments({ state: 'queued', leaseOwner: { $ne: null } });
  const killedAt = Date.now();
  expect(await victim.kill('SIGKILL')).toBeNull();
  expect(held).toBeGreaterThan(0);

  const survivor = startDeliveryWorker(h.rt, {
    upstreamUrl: `smtp://127.0.0.1:${sink.port}`,
    leaseMs: 2_000,
    concurrency: 6,
    workerId: 'survivor',
    pollMinMs: 20,
    pollMaxMs: 200,
    queueDepthIntervalMs: 0,
  });
  try {
    await eventually(async () => (await h.rt.db.models.queuedMessages.countDocuments({ state: 'queued' })) === 0, 40_000, 'the queue to empty');
  } finally {
    await survivor.stop();
  }

  // Nothing lost: every message reached the sink and is recorded delivered.
  const counts = sink.countsByMessageId();
  expect(counts.size).toBe(MESSAGES);
  const docs = await h.rt.db.models.queuedMessages.find({ kind: 'message' }).lean();
  expect(docs.every((d) => d.state === 'done' && d.recipients.every((r) => r.status === 'delivered'))).toBe(true);
  // Messages the dead worker held were leased again after its lease ran out.
  expect(docs.filter((d) => (d.leaseCount ?? 0) > 1).length).toBeGreaterThan(0);
  // A copy arrives twice only when the dead worker had handed it over in full (the sink then answers 250,
  // perhaps to a connection already gone) before it died.
  for (const [messageId, n] of counts) {
    if (n === 1) continue;
    expect(n).toBe(2);
    const first = acceptedAt.find((a) => a.messageId === messageId)!;
    expect(first.at).toBeLessThanOrEqual(killedAt);
  }
  const duplicates = [...counts.values()].filter((n) => n > 1).length;
  expect(duplicates).toBeLessThanOrEqual(held);
  console.log(`[worker-crash] killed holding ${held} lease(s); ${duplicates} message(s) arrived twice (250 already given to the dead worker)`);
}, 90_000);
