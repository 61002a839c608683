// A dedicated FerretDB (startDedicatedFerretDb) that fault tests stop, kill and restart on the same port and data.
import { spawnSync } from 'node:child_process';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedFerretDbBinary, startDedicatedFerretDb, type DedicatedFerretDb } from '../../../src/store/embedded/index.ts';
import { withDatabaseName } from '../../helpers/database.ts';
import { isDatabaseUnavailable } from '../../../src/store/connection.ts';

// FerretDB needs Go to build the first time; a CI that has only mongod skips these.
const ferretDbAvailable = (await cachedFerretDbBinary()) !== null || spawnSync('go', ['version']).status === 0;

describe.skipIf(!ferretDbAvailable)('startDedicatedFerretDb', () => {
  let db: DedicatedFerretDb;
  let connection: Connection;

  beforeAll(async () => {
    db = await startDedicatedFerretDb();
    connection = await mongoose
      .createConnection(withDatabaseName(db.uri, 'faults'), {
        // Fail fast instead of queueing while the server is down.
        bufferCommands: false,
        serverSelectionTimeoutMS: 2_000,
        heartbeatFrequencyMS: 500,
      })
      .asPromise();
  });

  afterAll(async () => {
    await connection?.close();
    await db?.dispose();
  });

  it('fails operations while stopped and has the data back after a restart on the same port', async () => {
    const notes = connection.collection('notes');
    await notes.insertOne({ _id: 'before-stop' as never, text: 'kept' });

    await db.stop();
    const startedAt = Date.now();
    const failure = await notes.findOne({ _id: 'before-stop' as never }).then(
      () => null,
      (err: Error) => err,
    );
    // What every adapter checks (HTTP 503, CLI exit 69): the driver can also hand back Node's own EPIPE
    // when the command is written just as the server closes the socket.
    expect(failure).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(failure), `${failure?.name}: ${failure?.message}`).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(10_000);

    const portBefore = db.port;
    await db.restart();
    expect(db.port).toBe(portBefore);
    const doc = await eventually(() => notes.findOne({ _id: 'before-stop' as never }));
    expect(doc?.text).toBe('kept');
  });

  it('keeps acknowledged writes across a SIGKILL', async () => {
    const notes = connection.collection('notes');
    await notes.insertOne({ _id: 'before-kill' as never, text: 'durable' });

    await db.kill();
    await db.restart();
    const doc = await eventually(() => notes.findOne({ _id: 'before-kill' as never }));
    expect(doc?.text).toBe('durable');
  });
});

/** Retries while the driver reconnects; bounded in attempts and time. */
async function eventually<T>(operation: () => Promise<T>, { attempts = 20, timeoutMs = 15_000 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts && Date.now() < deadline; attempt++) {
    try {
      return await operation();
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the operation's own last rejection, unchanged
  throw lastError ?? new Error('operation did not succeed in time');
}
