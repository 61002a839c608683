// A due scan (on FerretDB a read of the whole queue, seconds on a long one) runs beside the claims of new mail:
// while one is under way, new messages are still leased and delivered at once. Before, the worker's one claim
// waited for the scan, and under bench:compare the slots ran dry for the length of each scan.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import type { Queue } from '../../src/store/queue/index.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';
import { eventually } from '../helpers/relay.ts';

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

it('delivers new messages while a due scan is still reading the queue', async () => {
  // The database is slow on the scan only: it answers once the test lets it.
  let letScanFinish!: () => void;
  const scanHeld = new Promise<void>((resolve) => (letScanFinish = resolve));
  let scans = 0;
  const queue: Queue = Object.assign(Object.create(h.rt.queue) as Queue, {
    claimDue: async (opts: Parameters<Queue['claimDue']>[0]) => {
      scans++;
      await scanHeld;
      return h.rt.queue.claimDue(opts);
    },
  });
  const w = startDeliveryWorker({ ...h.rt, queue }, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, pollMaxMs: 100, dueScanIntervalMs: 0, queueDepthIntervalMs: 0 });
  try {
    await eventually(() => scans === 1, 5_000, 'the first due scan');
    const ids = ['<beside-1@sender.test>', '<beside-2@sender.test>', '<beside-3@sender.test>'];
    for (const messageId of ids) await h.enqueue({ to: ['r@example.test'], body: testMessage({ messageId }) });

    await eventually(() => sink.messages.length >= ids.length, 5_000, 'the new messages at the next hop');
    expect(sink.messages.map((m) => m.messageId).sort()).toEqual(ids);
    // Still the first scan: nothing waited for it.
    expect(scans).toBe(1);
  } finally {
    letScanFinish();
    await w.stop();
  }
});
