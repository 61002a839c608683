// The driver's server monitor can die when the database is killed under load (a heartbeat waits for a 'drain'
// that never comes); the process then fails every command for good. The watchdog reopens the client when a
// heartbeat runs past its bound. Pure parts in a table; then a dedicated FerretDB killed and restarted under
// load, eight times, and the connection must work again after each. The driver's race does not come every
// time: with the watchdog turned off, three runs of eight kills failed at the 5th, 7th and 1st kill.
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
  ])('longest running: %s', (_label, steps, now, expected) => {
    const b = new HeartbeatBook();
    steps(b);
    expect(b.longestRunning(now)).toBe(expected);
  });

  // stuck(now = 100, bound 60, fast 10): how long the stuck heartbeat ran, 0 when none is.
  it.each<[string, (b: HeartbeatBook) => void, number]>([
    ['nothing running', () => undefined, 0],
    ['running 50, server known: within the bound', (b) => b.started('a', 50), 0],
    ['running 70, past the bound', (b) => b.started('a', 30), 70],
    ['running 20 on a server unknown for 20: stuck early', (b) => (b.described('a', 'Unknown', 80), b.started('a', 80)), 20],
    ['running 20 on a server unknown for 5 only', (b) => (b.described('a', 'Unknown', 95), b.started('a', 80)), 0],
    ['running 5 on a server unknown for 50', (b) => (b.described('a', 'Unknown', 50), b.started('a', 95)), 0],
    ['unknown, then known again: not early', (b) => (b.described('a', 'Unknown', 50), b.described('a', 'Standalone', 60), b.started('a', 70)), 0],
    ['unknown twice keeps the first time', (b) => (b.described('a', 'Unknown', 50), b.described('a', 'Unknown', 95), b.started('a', 70)), 30],
    ['another server unknown: not early for this one', (b) => (b.described('b', 'Unknown', 50), b.started('a', 70)), 0],
    ['ended: nothing running', (b) => (b.described('a', 'Unknown', 50), b.started('a', 70), b.ended('a')), 0],
  ])('stuck: %s', (_label, steps, expected) => {
    const b = new HeartbeatBook();
    steps(b);
    expect(b.stuck(100, 60, 10)).toBe(expected);
  });

  it.each([
    ['the defaults', { heartbeatFrequencyMS: 10_000, connectTimeoutMS: 30_000, socketTimeoutMS: 30_000 }, 80_000],
    ['no socket timeout (0): the connect timeout stands in', { heartbeatFrequencyMS: 10_000, connectTimeoutMS: 30_000, socketTimeoutMS: 0 }, 80_000],
    ['short timeouts', { heartbeatFrequencyMS: 500, connectTimeoutMS: 2_000, socketTimeoutMS: 5_000 }, 17_500],
  ])('bounds a heartbeat by its connect and handshake timeouts, the await and a margin: %s', (_label, o, expected) => {
    expect(heartbeatBoundMs(o)).toBe(expected);
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
      // The early rule, short so that a test can wait it out: a heartbeat running 5 s on a server unknown as long.
      monitor: { boundMs: 60_000, fastMs: 5_000, everyMs: 250, onStuck: (ms) => reopened.push(ms) },
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
        // Bounded: the early rule (5 s), one look, a reconnect and a round trip, with room for a busy machine.
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
