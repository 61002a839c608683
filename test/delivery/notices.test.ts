// A worker in another process than the relay hears of new messages from the relay's batch notices (a small
// collection), not by scanning the queue: with the due-time scan pushed out to a minute, mail still flows.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { createCommitQueue } from '../../src/relay/relay.ts';
import { RepairQueue } from '../../src/relay/repairs.ts';
import { createQueue, newQueueId } from '../../src/store/queue/index.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { eventually } from '../helpers/relay.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

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

/**
 * Stores messages as the relay of a process without a worker does (its own queue object, no listener): each
 * through the commit queue, which leaves a notice per batch. Returns their ids.
 */
async function storeFromAnotherProcess(count: number, tag: string): Promise<string[]> {
  const relayQueue = createQueue(h.rt.db.models);
  const { commits } = createCommitQueue(h.rt, { queue: relayQueue, repairs: new RepairQueue(h.rt.log), log: h.rt.log, storeTimeoutMs: 5_000 });
  const ids = Array.from({ length: count }, () => newQueueId());
  await Promise.all(
    ids.map((id, i) =>
      commits.submit({
        principal: { accountId: h.account.id, workspaceId: h.workspace.id, username: h.account.username, credentialVersion: 1, policy: { allowedSenders: [] } },
        message: {
          id,
          workspaceId: h.workspace.id,
          accountId: h.account.id,
          username: h.account.username,
          from: 'app@sender.test',
          to: [`${tag}${i}@example.test`],
          head: Buffer.from(testMessage({ messageId: `<${tag}-${i}@sender.test>` })),
          at: new Date(),
        },
      }),
    ),
  );
  return ids;
}

it('delivers what a relay of another process stored, found through its batch notices', async () => {
  const worker = startDeliveryWorker(h.rt, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, pollMaxMs: 50, dueScanIntervalMs: 60_000, queueDepthIntervalMs: 0 });
  try {
    // Let the worker make its first (start-up) scan of the queue: from then on only notices can tell it.
    await new Promise((r) => setTimeout(r, 200));
    const ids = await storeFromAnotherProcess(5, 'notice');
    await eventually(() => sink.messages.filter((m) => m.messageId?.startsWith('<notice-')).length === 5, 20_000, 'the five messages at the sink');
    await eventually(async () => (await Promise.all(ids.map((id) => h.message(id)))).every((m) => m.state === 'done'), 10_000, 'the messages to be done');
    // Every notice was taken.
    await eventually(async () => (await h.rt.ledger.batches()).length === 0, 5_000, 'the notices to be taken');
  } finally {
    await worker.stop();
  }
});

it('two workers that take the same notices at once lease each message once between them', async () => {
  const ids = await storeFromAnotherProcess(12, 'race');
  // The batches become notices once their commit has ended (after the clients' answers).
  const stored = async () => (await h.rt.ledger.batches()).filter((b) => b.kind === 'accept' && b.state === 'stored').flatMap((b) => b.messages ?? []).length;
  await eventually(async () => (await stored()) === ids.length, 5_000, 'the notices');
  // Both read before either deletes: each may get every notice.
  const [a, b] = await Promise.all([h.rt.ledger.takeNotices(100), h.rt.ledger.takeNotices(100)]);
  expect(new Set([...a, ...b].map((m) => m.id))).toEqual(new Set(ids));
  const now = new Date();
  const [la, lb] = await Promise.all([h.rt.queue.claimFresh(a, { owner: 'w1', now, leaseMs: 60_000 }), h.rt.queue.claimFresh(b, { owner: 'w2', now, leaseMs: 60_000 })]);
  const leased = [...la, ...lb].map((l) => l.id);
  expect(leased.sort()).toEqual([...ids].sort());
  // No notice is left to be taken again.
  expect(await h.rt.ledger.takeNotices(100)).toEqual([]);
});
