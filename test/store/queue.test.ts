// The queue's storage: small messages in one document, large ones in chunks written as they arrive.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { CHUNK_SIZE, createQueue, newQueueId, type Queue } from '../../src/store/queue/index.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

let uri: string;
let db: Database;
let queue: Queue;
beforeAll(async () => {
  uri = testDatabaseUri();
  db = await connectDatabase(uri);
  queue = createQueue(db.models);
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(uri);
});

const base = { workspaceId: 'w1', accountId: 'a1', username: 'smtp-x', from: 'app@example.com', to: ['a@example.org', 'b@EXAMPLE.net'] };

it('stores a message larger than one document in chunks and reads it back byte for byte, our headers first', async () => {
  const body = randomBytes(CHUNK_SIZE * 2 + 123);
  const head = Buffer.from('Received: from test\r\n');
  const id = newQueueId();
  for (let n = 0, off = 0; off < body.length; n++, off += CHUNK_SIZE) await queue.writeChunk(id, n, body.subarray(off, off + CHUNK_SIZE));
  await queue.enqueueMany([{ ...base, id, head, chunks: 3, size: head.length + body.length, at: new Date() }]);
  const m = await queue.findMessage('w1', id);
  expect(m!.chunks).toBe(3);
  expect(m!.size).toBe(head.length + body.length);
  expect(m!.recipients.map((r) => [r.address, r.domain, r.status])).toEqual([
    ['a@example.org', 'example.org', 'queued'],
    ['b@EXAMPLE.net', 'example.net', 'queued'],
  ]);
  expect((await queue.readBody({ id, chunks: 0 })).equals(Buffer.concat([head, body]))).toBe(true);
  expect(await queue.countQueuedForAccount('a1')).toBe(1);
});

it('stores a batch of small messages in one command, each readable on its own, and tells a local listener', async () => {
  const heard: string[] = [];
  const stop = queue.onEnqueued((msgs) => heard.push(...msgs.map((m) => m.id)));
  const ids = [newQueueId(), newQueueId(), newQueueId()];
  await queue.enqueueMany(ids.map((id, i) => ({ ...base, accountId: 'a2', id, head: Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`), at: new Date() })));
  stop();
  expect(heard).toEqual(ids);
  for (const [i, id] of ids.entries()) expect((await queue.readBody({ id, chunks: 0 })).toString()).toBe(`Subject: ${i}\r\n\r\nbody ${i}\r\n`);
  expect(await queue.countQueuedForAccount('a2')).toBe(3);
});

it('withdraws a message no worker has touched, and keeps one a worker holds', async () => {
  const [free, held] = [newQueueId(), newQueueId()];
  const at = new Date(Date.now() - 1000);
  await queue.enqueueMany([free, held].map((id) => ({ ...base, accountId: 'a3', id, head: Buffer.from('x\r\n'), at })));
  expect(await queue.claim(held, { owner: 'w', now: new Date(), leaseMs: 60_000 })).not.toBeNull();
  expect(await queue.withdraw(free)).toBe('removed');
  expect(await queue.withdraw(held)).toBe('in_delivery');
  expect(await queue.withdraw(free)).toBe('absent');
});

it('hands out due messages batch by batch, so each batch body document is read once for all of its messages', async () => {
  // Its own database (only these messages are due) and connection (an empty body cache, every command seen).
  const reads: string[] = [];
  const ownUri = testDatabaseUri();
  const own = await connectDatabase(ownUri, { onCommand: () => {} });
  own.connection.getClient().on('commandStarted', (e) => {
    if (e.commandName === 'find' && e.command.find === 'message_bodies') reads.push(String(e.command.filter?._id));
  });
  try {
    const q = createQueue(own.models);
    const at = new Date(Date.now() - 1000);
    // Three relay commits of three messages: three body documents.
    const batches = [0, 1, 2].map(() => [newQueueId(), newQueueId(), newQueueId()]);
    for (const [b, ids] of batches.entries()) {
      await q.enqueueMany(
        ids.map((id, i) => ({ ...base, accountId: 'a4', id, head: Buffer.from('Received: x\r\n'), body: Buffer.from(`Subject: ${b}.${i}\r\n\r\nbody\r\n`), at })),
      );
    }
    const { leases } = await q.claimDue({ owner: 'w', now: new Date(), leaseMs: 60_000, limit: 9 });
    expect(leases).toHaveLength(9);
    // However the claim picked them, the messages of one document come one after the other.
    const docs = leases.map((l) => l.body.bodyRef!.doc);
    const runs = docs.filter((d, i) => i === 0 || d !== docs[i - 1]);
    expect(runs).toHaveLength(3);
    for (const l of leases) {
      const text = (await q.readBody(l.body)).toString();
      expect(text).toMatch(/^Received: x\r\nSubject: \d\.\d\r\n\r\nbody\r\n$/);
    }
    expect(reads).toHaveLength(3);
    expect(new Set(reads).size).toBe(3);
  } finally {
    await own.close();
    await dropTestDatabase(ownUri);
  }
});
