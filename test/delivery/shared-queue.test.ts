// Two workers leasing from one queue deliver every message exactly once: each Message-ID reaches the
// sink one time, and the account's counters add up to the number of messages.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { showAccount } from '../../src/domain/index.ts';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { admin } from '../helpers/domain.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

const MESSAGES = 1000;

let h: DeliveryHarness;
let sink: TestSink;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
  sink = await startTestSink();
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

it(`two workers sharing one queue deliver ${MESSAGES} messages, each exactly once`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i += 50) {
    ids.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, MESSAGES - i) }, (_, k) =>
          h.enqueue({ to: [`user${i + k}@example.test`], body: testMessage({ messageId: `<shared-${i + k}@sender.test>` }) }),
        ),
      )),
    );
  }
  const options = { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, concurrency: 8, pollMinMs: 20, pollMaxMs: 200, queueDepthIntervalMs: 0 };
  const started = Date.now();
  const a = startDeliveryWorker(h.rt, { ...options, workerId: 'worker-a' });
  const b = startDeliveryWorker(h.rt, { ...options, workerId: 'worker-b' });
  try {
    await sink.waitForMessages(MESSAGES, 50_000);
    await Promise.all([a.drain(20_000), b.drain(20_000)]);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  const seconds = (Date.now() - started) / 1000;

  const counts = sink.countsByMessageId();
  expect(counts.size).toBe(MESSAGES);
  expect([...counts.values()].every((c) => c === 1)).toBe(true);
  expect(sink.messages.length).toBe(MESSAGES);

  // Both workers took part, each message was leased once, and the queue knows every message is done.
  expect(a.stats().delivered).toBeGreaterThan(0);
  expect(b.stats().delivered).toBeGreaterThan(0);
  expect(a.stats().delivered + b.stats().delivered).toBe(MESSAGES);
  expect(a.stats().leased + b.stats().leased).toBe(MESSAGES);
  expect(await h.rt.db.models.queuedMessages.countDocuments({ state: 'done' })).toBe(MESSAGES);
  const shown = await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name);
  expect(shown.counters.delivered).toBe(MESSAGES);
  expect(shown.queuedMessages).toBe(0);
  const lost = a.stats().claimsLost + b.stats().claimsLost;
  console.log(`[shared-queue] ${MESSAGES} messages by 2 workers in ${seconds.toFixed(1)} s (${(MESSAGES / seconds).toFixed(0)} msg/s); ${lost} claim(s) lost to the other worker`);
}, 90_000);
