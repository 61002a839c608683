// The rate-limit window shared by every relay: one conditional $inc per recipient. Two recipients that are
// both first in a new window create its document at the same time; the one whose upsert loses the insert
// must be counted in the document the other created, not refused (a spurious 451).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { rateWindowRepository } from '../../src/store/repositories/rate-windows.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

let uri: string;
let db: Database;
beforeAll(async () => {
  uri = testDatabaseUri();
  db = await connectDatabase(uri, { appName: 'rate-windows-test' });
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(uri);
});

it('recipients first in a new window at the same moment are all counted, none refused', async () => {
  const repo = rateWindowRepository(db.models);
  const start = new Date('2026-12-05T03:00:00Z');
  const end = new Date('2026-12-05T04:00:00Z');
  // Many accounts, each with a fresh window and several first recipients at once: on a server that runs the
  // upserts side by side, some pairs race to insert.
  const accounts = Array.from({ length: 40 }, (_, i) => `acct-${i}`);
  const verdicts = await Promise.all(accounts.flatMap((a) => [0, 1, 2].map(() => repo.take(a, start, 1, 10, end))));
  expect(verdicts.filter((v) => !v)).toEqual([]);
  const counts = await db.models.rateWindows.find({}).lean<{ count: number }[]>();
  expect(counts.map((c) => c.count)).toEqual(Array(40).fill(3));
});

it('the loser of two first upserts of a window (a duplicate key, as MongoDB answers it) is counted, not refused', async () => {
  // FerretDB runs writes one at a time, so the race cannot happen on the test database; MongoDB runs them side
  // by side, and the upsert whose insert loses answers E11000 although the window has room. Staged here at
  // the collection: the other relay's recipient creates the window first, then this upsert gets the answer
  // MongoDB gives the loser.
  const W = db.models.rateWindows;
  const raced = new Set<string>();
  const racing = new Proxy(W, {
    get(target, prop, receiver) {
      if (prop !== 'updateOne') return Reflect.get(target, prop, receiver) as unknown;
      return async (filter: { _id: string }, update: unknown, opts?: { upsert?: boolean }) => {
        if (opts?.upsert && !raced.has(filter._id)) {
          raced.add(filter._id);
          await W.create({ _id: filter._id, count: 1, expiresAt: new Date('2026-12-05T08:00:00Z') });
          throw Object.assign(new Error(`E11000 duplicate key error collection: rate_windows index: _id_ dup key: { _id: "${filter._id}" }`), { code: 11000 });
        }
        return W.updateOne(filter as never, update as never, opts as never);
      };
    },
  });
  const repo = rateWindowRepository({ ...db.models, rateWindows: racing });
  const start = new Date('2026-12-05T07:00:00Z');
  expect(await repo.take('raced', start, 1, 10, new Date('2026-12-05T08:00:00Z'))).toBe(true);
  expect((await W.findById(`raced:${start.toISOString()}`).lean<{ count: number }>())?.count).toBe(2);
});

it('a window that is full still refuses, under the same parallel load', async () => {
  const repo = rateWindowRepository(db.models);
  const start = new Date('2026-12-05T05:00:00Z');
  const end = new Date('2026-12-05T06:00:00Z');
  const verdicts = await Promise.all(Array.from({ length: 12 }, () => repo.take('full', start, 1, 5, end)));
  expect(verdicts.filter(Boolean).length).toBe(5);
});
