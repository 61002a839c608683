// Retention: bodies of finished messages past the cut-off go, the message documents (recipients, outcomes)
// stay; chunks that never got their message document go after a day.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { chunkId } from '../../src/store/queue/index.ts';
import { storedBody } from '../helpers/queue.ts';
import { openDeliveryHarness, type DeliveryHarness } from '../helpers/delivery.ts';

const DAY = 86_400_000;
let h: DeliveryHarness;
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await h?.close();
});

async function finish(id: string, finishedAt: Date) {
  await h.rt.db.models.queuedMessages.updateOne({ _id: id }, { $set: { state: 'done', finishedAt, 'recipients.0.status': 'delivered', 'recipients.0.response': '250 ok' } });
}

async function orphan(createdAt: Date, chunks: number): Promise<Types.ObjectId> {
  const messageId = Types.ObjectId.createFromTime(Math.floor(createdAt.getTime() / 1000));
  await h.rt.db.models.messageChunks.insertMany(
    Array.from({ length: chunks }, (_, n) => ({ _id: chunkId(messageId.toHexString(), n), messageId, n, data: Buffer.from(`part ${n}`) })),
  );
  return messageId;
}

it('removes the bodies of finished messages older than the cut-off and orphan chunks older than a day, keeping the rest', async () => {
  const now = new Date();
  const old = await Promise.all([1, 2, 3, 4, 5].map(() => h.enqueue({ to: ['a@example.test'] })));
  for (const id of old) await finish(id, new Date(now.getTime() - 10 * DAY));
  const recent = await h.enqueue({ to: ['b@example.test'] });
  await finish(recent, new Date(now.getTime() - DAY));
  const queued = await h.enqueue({ to: ['c@example.test'] });
  const staleOrphan = await orphan(new Date(now.getTime() - 2 * DAY), 2);
  const freshOrphan = await orphan(new Date(now.getTime() - 3_600_000), 1);

  const result = await h.rt.queue.removeFinishedBodies({ olderThan: new Date(now.getTime() - 7 * DAY), now, batchSize: 2 });
  // Small bodies live in the message document itself: no chunks of theirs to remove.
  expect(result).toMatchObject({ messages: 5, chunks: 0, orphanChunks: 2 });
  // Each message's body document (one per enqueue here) goes with it; the others' stay.
  expect(result.bodyDocuments).toBe(5);

  for (const id of old) {
    const doc = await h.message(id);
    expect(doc.bodyRemovedAt?.getTime()).toBe(now.getTime());
    expect(doc.chunks).toBe(0);
    expect(doc.state).toBe('done');
    expect(doc.recipients[0]).toMatchObject({ address: 'a@example.test', status: 'delivered', response: '250 ok' });
    expect((await storedBody(h.rt.queue, id)).length).toBe(0);
  }
  expect((await storedBody(h.rt.queue, recent)).length).toBeGreaterThan(0);
  expect((await storedBody(h.rt.queue, queued)).length).toBeGreaterThan(0);
  expect(await h.rt.db.models.messageChunks.countDocuments({ messageId: staleOrphan })).toBe(0);
  expect(await h.rt.db.models.messageChunks.countDocuments({ messageId: freshOrphan })).toBe(1);

  // Nothing left to do the second time.
  expect(await h.rt.queue.removeFinishedBodies({ olderThan: new Date(now.getTime() - 7 * DAY), now })).toEqual({ messages: 0, chunks: 0, orphanChunks: 0, bodyDocuments: 0 });
});

it('finds which body documents are still needed with one lookup per batch, not one read per body', async () => {
  const { connectDatabase } = await import('../../src/store/connection.ts');
  const { createQueue } = await import('../../src/store/queue/index.ts');
  const finds: string[] = [];
  const db = await connectDatabase(h.uri, { appName: 'retention-count', ensureIndexes: false, onCommand: (name) => name === 'find' && finds.push(name) });
  try {
    const now = new Date();
    // Thirty finished messages, each stored alone (so each has its own body document).
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await h.enqueue({ to: [`r${i}@example.test`] }));
    for (const id of ids) await finish(id, new Date(now.getTime() - 10 * DAY));
    finds.length = 0;
    const result = await createQueue(db.models).removeFinishedBodies({ olderThan: new Date(now.getTime() - 7 * DAY), now, batchSize: 500 });
    expect(result.messages).toBeGreaterThanOrEqual(30);
    expect(result.bodyDocuments).toBeGreaterThanOrEqual(30);
    expect(finds.length).toBeLessThanOrEqual(6);
  } finally {
    await db.close();
  }
});
