// A worker process killed with SIGKILL in the middle of deliveries: its leases are not renewed, so once they
// expire another worker delivers what it held. Nothing is lost; a message can arrive twice only when the
// upstream had already answered 250 to the dead worker (delivery is at least once).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';
import { startWorkerProcess } from '../helpers/role-process.ts';
import { eventually } from '../helpers/relay.ts';

const MESSAGES = 40;

let h: DeliveryHarness;
let sink: TestSink;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

/** Kills a worker process mid-delivery, lets another worker finish; returns how many messages it died holding. */
async function killMidDelivery(label: string, afterKill: () => void): Promise<{ held: number; counts: Map<string, number> }> {
  for (let i = 0; i < MESSAGES; i++) {
    await h.enqueue({ to: [`user${i}@example.test`], body: testMessage({ messageId: `<${label}-${i}@sender.test>` }) });
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
  // Kill it while the sink holds back an answer it waits for: that message is certainly leased and not yet
  // done. The check and the kill run in one turn of the event loop, so the answer cannot slip out between them
  // (a database query here could take longer than the child needs to finish the queue on a loaded machine).
  await eventually(() => sink.heldAnswers > 0, 20_000, 'the child to wait on the sink');
  const killed = victim.kill('SIGKILL');
  expect(await killed).toBeNull();
  afterKill();

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
  const counts = new Map([...sink.countsByMessageId()].filter(([id]) => id.startsWith(`<${label}-`)));
  expect(counts.size).toBe(MESSAGES);
  const docs = await h.rt.db.models.queuedMessages.find({ kind: 'message', messageId: new RegExp(`^<${label}-`) }).lean();
  expect(docs).toHaveLength(MESSAGES);
  expect(docs.every((d) => d.state === 'done' && d.recipients.every((r) => r.status === 'delivered'))).toBe(true);
  // What the dead worker held when it died (a write it had already sent may still have landed after the kill):
  // those messages were leased again once its leases ran out.
  const held = docs.filter((d) => (d.leaseCount ?? 0) > 1).length;
  expect(held).toBeGreaterThan(0);
  return { held, counts };
}

it('delivers what a SIGKILLed worker held once its leases expire; a copy arrives twice only if the dead worker had handed it over', async () => {
  // Slow answers to DATA: when the kill comes, the messages in flight are already with the upstream. The answers
  // are slow enough (1.5 s) that the child cannot finish what it holds between the check and the kill, even on a
  // loaded machine; the survivor gets quick answers.
  const sinkOptions = { dataDelayMs: 1_500 };
  sink = await startTestSink(sinkOptions);
  const { held, counts } = await killMidDelivery('after-data', () => (sinkOptions.dataDelayMs = 100));
  // The dead worker (HELO victim.test) had handed the message over in full before it died (the sink then says
  // 250, perhaps to a connection already gone); the survivor sent the second copy.
  for (const [messageId, n] of counts) {
    if (n === 1) continue;
    expect(sink.messages.filter((m) => m.messageId === messageId).map((m) => m.heloName)).toEqual(['victim.test', 'smtpdesk.test']);
  }
  const duplicates = [...counts.values()].filter((n) => n > 1).length;
  expect(duplicates).toBeLessThanOrEqual(held);
  console.log(`[worker-crash] killed after DATA holding ${held} lease(s): ${duplicates} message(s) arrived twice`);
  await sink.close();
}, 90_000);

it('sends no copy twice when the worker dies before handing messages over', async () => {
  // Slow answers to RCPT TO: when the kill comes, the messages in flight have not been handed over.
  const sinkOptions = { rcptDelayMs: 1_500 };
  sink = await startTestSink(sinkOptions);
  const { held, counts } = await killMidDelivery('before-data', () => (sinkOptions.rcptDelayMs = 100));
  // What the dead worker was sending (waiting at RCPT TO) arrives once, from the survivor. A worker frees its
  // slot once the next hop answered and writes the outcome beside the next delivery, so a message it had
  // handed over in full just before the kill may still arrive twice: its first copy is then the dead worker's.
  for (const [messageId, n] of counts) {
    if (n === 1) continue;
    expect(sink.messages.filter((m) => m.messageId === messageId).map((m) => m.heloName)).toEqual(['victim.test', 'smtpdesk.test']);
  }
  const duplicates = [...counts.values()].filter((n) => n > 1).length;
  console.log(`[worker-crash] killed before DATA holding ${held} lease(s): ${duplicates} message(s) handed over in full arrived twice`);
}, 90_000);
