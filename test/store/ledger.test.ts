// The message ledger (src/store/ledger): a batch's owner holds it by a heartbeat in the database, so no other
// process finishes it while the owner lives; once the heartbeat stops, recovery does. One recovery loop per
// process, whatever roles it runs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { createLedger } from '../../src/store/ledger/index.ts';
import { newQueueId } from '../../src/store/queue/index.ts';
import { openDeliveryHarness, type DeliveryHarness } from '../helpers/delivery.ts';
import { startTestRelay } from '../helpers/relay.ts';

let h: DeliveryHarness;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await h?.close();
});

function entry(id: string) {
  return {
    id,
    workspaceId: h.workspace.id,
    accountId: h.account.id,
    username: h.account.username,
    kind: 'message' as const,
    from: 'a@b.test',
    to: ['c@d.test'],
    size: 1,
    head: Buffer.alloc(0),
    chunks: 0,
    at: new Date(),
  };
}

it('a batch whose owner is alive is never finished by another process; once its heartbeat stops, it is', async () => {
  const owner = createLedger(h.rt.db.models, h.rt.queue, { owner: 'alive', leaseMs: 300 });
  const other = createLedger(h.rt.db.models, h.rt.queue, { owner: 'other', leaseMs: 300 });
  const batchId = owner.accept.newId();
  await owner.accept.open(batchId, [entry(newQueueId())]);
  // Many leases long: the owner's heartbeat keeps it.
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 250));
    expect(await other.recovery.runOnce(h.rt.log)).toBe(0);
  }
  expect((await owner.batches()).find((b) => b._id === batchId)?.state).toBe('open');
  // The owner stops (its process died): after one lease, the other finishes the batch, as refused (no message of it stored).
  await owner.close();
  await new Promise((r) => setTimeout(r, 400));
  expect(await other.recovery.runOnce(h.rt.log)).toBe(1);
  expect((await other.batches()).find((b) => b._id === batchId)?.state).toBe('refused');
  await other.close();
});

it('a relay and a worker in one process share one recovery loop', async () => {
  const t = await startTestRelay({ env: { LOG_LEVEL: 'warn' } });
  const worker = startDeliveryWorker(t.rt, { upstreamUrl: 'smtp://127.0.0.1:9', queueDepthIntervalMs: 0 });
  try {
    expect(t.rt.ledger.recovery.users()).toBe(2);
  } finally {
    await worker.stop();
    expect(t.rt.ledger.recovery.users()).toBe(1);
    await t.close();
  }
  expect(t.rt.ledger.recovery.users()).toBe(0);
});
