import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { CHUNK_SIZE, queueWriter, readMessageBody } from '../../src/store/repositories/queue-writer.ts';
import { queueReader } from '../../src/store/repositories/queue-reader.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

let uri: string;
let db: Database;
beforeAll(async () => {
  uri = testDatabaseUri();
  db = await connectDatabase(uri);
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(uri);
});

it('stores a message larger than one document in chunks and reads it back byte for byte', async () => {
  const body = randomBytes(CHUNK_SIZE * 2 + 123);
  const id = await queueWriter(db.models).enqueue({
    workspaceId: 'w1',
    accountId: 'a1',
    username: 'smtp-x',
    from: 'app@example.com',
    to: ['a@example.org', 'b@EXAMPLE.net'],
    body,
    at: new Date(),
  });
  const doc = await db.models.queuedMessages.findById(id).lean();
  expect(doc!.chunks).toBe(3);
  expect(doc!.recipients.map((r) => [r.address, r.domain, r.status])).toEqual([
    ['a@example.org', 'example.org', 'queued'],
    ['b@EXAMPLE.net', 'example.net', 'queued'],
  ]);
  expect((await readMessageBody(db.models, id)).equals(body)).toBe(true);
  expect(await queueReader(db.models).countQueuedForAccount('a1')).toBe(1);
});
