// The driver's server monitor can die when the database is killed under load (a heartbeat waits for a 'drain'
// that never comes); the process then fails every command for good. The watchdog reopens the client when a
// heartbeat runs past its bound. Pure parts in a table; then a dedicated FerretDB killed and restarted under
// load, several times, and the connection must work again after each.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { cachedFerretDbBinary, startDedicatedFerretDb, type DedicatedFerretDb } from '../../src/store/embedded/index.ts';
import { HeartbeatBook, heartbeatBoundMs } from '../../src/store/monitor-watchdog.ts';
import { SlowProxy } from '../helpers/slow-proxy.ts';

describe('HeartbeatBook', () => {
  it.each<[string, (b: HeartbeatBook) => void, number, number]>([
    ['nothing started', () => undefined, 100, 0],
    ['one running since 10', (b) => b.started('a', 10), 100, 90],
    ['one that ended', (b) => (b.started('a', 10), b.ended('a')), 100, 0],
    ['a second start of the same server keeps the first (a stuck one is not hidden)', (b) => (b.started('a', 10), b.started('a', 90)), 100, 90],
    ['the oldest of two servers', (b) => (b.started('a', 50), b.started('b', 20)), 100, 80],
    ['an end for a server never started', (b) => b.ended('zzz'), 100, 0],
    ['cleared', (b) => (b.started('a', 10), b.clear()), 100, 0],
    ['a start in the future (clock stepped back)', (b) => b.started('a', 200), 100, 0],
  ])('%s', (_label, steps, now, expected) => {
    const b = new HeartbeatBook();
    steps(b);
    expect(b.longestRunning(now)).toBe(expected);
  });

  it('bounds a heartbeat by its socket timeout, the await and a margin', () => {
    expect(heartbeatBoundMs({ heartbeatFrequencyMS: 10_000, connectTimeoutMS: 30_000 })).toBe(50_000);
  });
});

const ferretDbAvailable = (await cachedFerretDbBinary()) !== null || spawnSync('go', ['version']).status === 0;

describe.skipIf(!ferretDbAvailable)('a database killed under load', () => {
  let ferret: DedicatedFerretDb;
  let proxy: SlowProxy;
  let db: Database;
  const reopened: number[] = [];

  beforeAll(async () => {
    ferret = await startDedicatedFerretDb();
    // Through a proxy, as in the hang-db soak: it closes the client's side as soon as the database's side goes.
    proxy = await new SlowProxy('127.0.0.1', ferret.port).start();
    db = await connectDatabase(`mongodb://127.0.0.1:${proxy.port}/watchdog`, {
      ensureIndexes: false,
      serverSelectionTimeoutMS: 1_000,
      // The default frequency: a check the pool's failure asks for then starts at once, on the dying socket.
      heartbeatFrequencyMS: 10_000,
      connectTimeoutMS: 2_000,
      // Short, so that a test can wait it out: a (polled) heartbeat of this client ends within 2 s.
      monitor: { boundMs: 4_000, everyMs: 250, onStuck: (ms) => reopened.push(ms) },
    });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await proxy?.close();
    await ferret?.dispose();
  });

  it('is usable again within the heartbeat bound after every kill and restart', async () => {
    const coll = db.connection.db!.collection('load');
    let stop = false;
    const load = Array.from({ length: 20 }, async (_, i) => {
      const step = () =>
        i % 3 === 0
          ? coll.insertOne({ i, pad: 'x'.repeat(2_000) })
          : i % 3 === 1
            ? coll.find({ i: { $lt: 5 } }, { limit: 20 }).toArray()
            : coll.bulkWrite([{ updateMany: { filter: { i: 99 }, update: { $set: { y: 1 } } } }]);
      while (!stop) await step().catch(() => new Promise((r) => setTimeout(r, 20)));
    });
    const cycles = 8;
    const recoveredMs: number[] = [];
    try {
      for (let c = 0; c < cycles; c++) {
        await new Promise((r) => setTimeout(r, 1_500));
        await ferret.kill();
        await new Promise((r) => setTimeout(r, 500));
        await ferret.restart();
        const restarted = Date.now();
        // Bounded: the heartbeat bound (4 s), one look, a reconnect and a round trip, with room for a busy machine.
        let ok = false;
        while (!ok && Date.now() - restarted < 15_000) {
          ok = await coll
            .findOne({}, { maxTimeMS: 1_000 })
            .then(() => true)
            .catch(() => false);
          if (!ok) await new Promise((r) => setTimeout(r, 100));
        }
        expect(ok, `cycle ${c + 1}: the database answers again after its restart`).toBe(true);
        recoveredMs.push(Date.now() - restarted);
      }
    } finally {
      stop = true;
      await Promise.all(load);
    }
    console.log(`[watchdog] ${cycles} kills: usable again after ${recoveredMs.join(', ')} ms; reopened ${reopened.length}× (heartbeats stuck ${reopened.join(', ')} ms)`);
  }, 180_000);
});
