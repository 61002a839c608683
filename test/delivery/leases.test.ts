// Every lease a worker holds is renewed, whether its message is being delivered or waits for a slot: a next
// hop that takes longer than the lease per message must not let another worker take the waiting ones while
// the first still means to send them. Two workers, a slow sink, short leases: each message arrives once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { newQueueId } from '../../src/store/queue/index.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { eventually } from '../helpers/relay.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

let h: DeliveryHarness;
let sink: TestSink;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
  // Each DATA answer takes longer than a whole lease.
  sink = await startTestSink({ dataDelayMs: 2_000 });
});
afterAll(async () => {
  await sink?.close();
  await h?.close();
});

it('a lease waiting for a slot past its time is renewed (or given back), never delivered after another worker took it', async () => {
  const common = { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, leaseMs: 1_200, pollMinMs: 20, pollMaxMs: 100, dueScanIntervalMs: 100, queueDepthIntervalMs: 0 };
  // The first worker hears of the new messages as they are stored (same process) and claims them in bulk,
  // more than its one slot can start at once.
  const first = startDeliveryWorker(h.rt, { ...common, workerId: 'first', concurrency: 1 });
  // One commit of four messages, as the relay stores them.
  const ids = Array.from({ length: 4 }, () => newQueueId());
  await h.rt.queue.enqueueMany(
    ids.map((id, i) => ({
      id,
      workspaceId: h.workspace.id,
      accountId: h.account.id,
      username: h.account.username,
      from: 'app@sender.test',
      to: [`w${i}@example.test`],
      head: Buffer.alloc(0),
      body: Buffer.from(testMessage({ messageId: `<lease-${i}@sender.test>` })),
      at: new Date(),
    })),
  );
  // The second starts afterwards: it finds due messages by their due time only (expired or given back leases).
  await new Promise((r) => setTimeout(r, 100));
  const second = startDeliveryWorker(h.rt, { ...common, workerId: 'second', concurrency: 4 });
  try {
    await eventually(async () => (await Promise.all(ids.map((id) => h.message(id)))).every((m) => m.state === 'done'), 30_000, 'every message to be done');
  } finally {
    await Promise.all([first.stop(), second.stop()]);
  }
  const counts = [...sink.countsByMessageId()].filter(([id]) => id.startsWith('<lease-'));
  expect(counts.map(([, n]) => n)).toEqual([1, 1, 1, 1]);
  expect(h.logs.filter((l) => l.code === 'DELIVERY_LEASE_LOST')).toEqual([]);
  // Nothing is left leased once both workers stopped.
  expect(await h.rt.db.models.queuedMessages.countDocuments({ leaseOwner: { $exists: true } })).toBe(0);
}, 60_000);
