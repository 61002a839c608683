// The quota and every counter rely on single-document atomic updates. MongoDB gives them; FerretDB v1
// does only with the write-lock patch our build adds. This test fails on a database without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mongoose, { type Connection } from 'mongoose';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

let uri: string;
let conn: Connection;
beforeAll(async () => {
  uri = testDatabaseUri();
  conn = await mongoose.createConnection(uri, { maxPoolSize: 20 }).asPromise();
});
afterAll(async () => {
  await conn?.close();
  await dropTestDatabase(uri);
});

describe('single-document atomicity', () => {
  it('100 parallel $inc of one field all count', async () => {
    const col = conn.db!.collection<{ _id: string; n: number }>('counters');
    await col.insertOne({ _id: 'c', n: 0 });
    await Promise.all(Array.from({ length: 100 }, () => col.updateOne({ _id: 'c' }, { $inc: { n: 1 } })));
    expect((await col.findOne({ _id: 'c' }))!.n).toBe(100);
  });

  it('a conditional findOneAndUpdate never passes its limit under 50 parallel callers', async () => {
    const col = conn.db!.collection<{ _id: string; n: number }>('limits');
    await col.insertOne({ _id: 'q', n: 0 });
    const results = await Promise.all(Array.from({ length: 50 }, () => col.findOneAndUpdate({ _id: 'q', n: { $lt: 10 } }, { $inc: { n: 1 } })));
    expect(results.filter((r) => r !== null).length).toBe(10);
    expect((await col.findOne({ _id: 'q' }))!.n).toBe(10);
  });

  it('parallel $inc of different fields of one document keep each other', async () => {
    const col = conn.db!.collection<{ _id: string; a: number; b: number }>('fields');
    await col.insertOne({ _id: 'f', a: 0, b: 0 });
    await Promise.all(Array.from({ length: 60 }, (_, i) => col.updateOne({ _id: 'f' }, { $inc: i % 2 ? { a: 1 } : { b: 1 } })));
    expect(await col.findOne({ _id: 'f' })).toEqual({ _id: 'f', a: 30, b: 30 });
  });
});
