// The embedded FerretDB is built with an _id-lookup patch (src/store/embedded/ferretdb-build.ts): a filter that names
// _id next to other keys is narrowed by _id first. These are the semantics that must not change with it:
// every key of the filter still applies, on MongoDB and on FerretDB alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mongoose, { Types, type Connection } from 'mongoose';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

let uri: string;
let conn: Connection;
beforeAll(async () => {
  uri = testDatabaseUri();
  conn = await mongoose.createConnection(uri).asPromise();
});
afterAll(async () => {
  await conn?.close();
  await dropTestDatabase(uri);
});

describe('filters on _id and other keys', () => {
  it('match, update and delete only when every key matches, for string and ObjectId ids', async () => {
    // Untyped on purpose: string and ObjectId ids side by side.
    const col = conn.db!.collection('lookups');
    const oid = new Types.ObjectId();
    await col.insertMany([
      { _id: 'a' as unknown as Types.ObjectId, owner: 'w1', n: 0 },
      { _id: oid, owner: 'w1', n: 0 },
      { _id: 'c' as unknown as Types.ObjectId, n: 0 },
    ]);
    const id = (s: string) => s as unknown as Types.ObjectId;
    expect(await col.findOne({ _id: id('a'), owner: 'w2' })).toBeNull();
    expect((await col.findOne({ _id: id('a'), owner: 'w1' }))?.n).toBe(0);
    expect((await col.updateOne({ _id: oid, owner: 'w2' }, { $inc: { n: 1 } })).matchedCount).toBe(0);
    expect((await col.updateOne({ _id: oid, owner: 'w1' }, { $inc: { n: 1 } })).matchedCount).toBe(1);
    expect(await col.findOneAndUpdate({ _id: id('c'), owner: null }, { $set: { owner: 'w3' } }, { returnDocument: 'after' })).toMatchObject({ owner: 'w3' });
    expect(await col.findOneAndUpdate({ _id: id('c'), owner: null }, { $set: { owner: 'w4' } })).toBeNull();
    expect((await col.deleteOne({ _id: id('a'), owner: 'nobody' })).deletedCount).toBe(0);
    expect((await col.deleteOne({ _id: id('a'), owner: 'w1' })).deletedCount).toBe(1);
    expect(await col.countDocuments({ _id: { $in: [id('a'), id('c'), oid] } })).toBe(2);
    expect((await col.findOne({ _id: oid }))?.n).toBe(1);
  });

  it('keeps a conditional claim atomic under 30 parallel callers', async () => {
    const col = conn.db!.collection<{ _id: string; owner: string | null }>('claims');
    await col.insertOne({ _id: 'job', owner: null });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => col.findOneAndUpdate({ _id: 'job', owner: null }, { $set: { owner: `w${i}` } })));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('applies one bulk write of 300 guarded updates (the workers renew, claim and finish hundreds at once)', async () => {
    // The embedded FerretDB held each update statement's query open until the command ended; its SQLite pool
    // has 100 connections, so about 100 updates in one command hung the whole database (update-closer patch).
    const col = conn.db!.collection<{ _id: Types.ObjectId; owner: string; n: number }>('bulk');
    const ids = Array.from({ length: 300 }, () => new Types.ObjectId());
    await col.insertMany(ids.map((_id) => ({ _id, owner: 'w1', n: 0 })));
    const res = await col.bulkWrite(
      ids.map((_id, i) => ({ updateOne: { filter: { _id, owner: i % 3 === 0 ? 'w2' : 'w1' }, update: { $inc: { n: 1 } } } })),
      { ordered: false, timeoutMS: 20_000 },
    );
    expect(res.matchedCount).toBe(200);
    expect(await col.countDocuments({ n: 1 })).toBe(200);
  }, 30_000);
});
