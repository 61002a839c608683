import { spawnSync } from 'node:child_process';
import mongoose, { Schema, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDedicatedFerretDb, type DedicatedFerretDb } from '../../src/store/embedded-database.ts';
import { cachedFerretDbBinary } from '../../src/store/ferretdb-binary.ts';
import { dropTestDatabase, testDatabaseUri, withDatabaseName } from '../helpers/database.ts';

const CONNECTION_ERRORS = [
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'MongoNotConnectedError',
];

describe('the shared test database server', () => {
  let uri: string;
  let connection: Connection;

  beforeAll(async () => {
    uri = testDatabaseUri();
    connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  });

  afterAll(async () => {
    await connection?.close();
    if (uri) await dropTestDatabase(uri);
  });

  it('answers ping', async () => {
    const reply = await connection.db!.command({ ping: 1 });
    expect(reply.ok).toBe(1);
  });

  it('gives each test file its own database', () => {
    expect(connection.name).toMatch(/^smtpdesk_t_[0-9a-f]{12}$/);
  });

  it('round-trips a mongoose model: insert, $inc through findOneAndUpdate, unique index', async () => {
    const Counter = connection.model(
      'Counter',
      new Schema({
        name: { type: String, required: true, unique: true },
        hits: { type: Number, default: 0 },
      }),
    );
    await Counter.init();

    await Counter.create({ name: 'relay' });
    const updated = await Counter.findOneAndUpdate({ name: 'relay' }, { $inc: { hits: 2 } }, { new: true }).lean();
    expect(updated?.hits).toBe(2);

    await expect(Counter.create({ name: 'relay' })).rejects.toMatchObject({ code: 11000 });
    expect(await Counter.countDocuments({ name: 'relay' })).toBe(1);
  });
});

describe('withDatabaseName', () => {
  it.each([
    ['mongodb://127.0.0.1:27017/', 'mongodb://127.0.0.1:27017/db1'],
    ['mongodb://127.0.0.1:27017', 'mongodb://127.0.0.1:27017/db1'],
    ['mongodb://127.0.0.1:27017/?replicaSet=rs0', 'mongodb://127.0.0.1:27017/db1?replicaSet=rs0'],
    ['mongodb://h1:1,h2:2/app?replicaSet=rs0&w=majority', 'mongodb://h1:1,h2:2/db1?replicaSet=rs0&w=majority'],
    ['mongodb://u:p%40ss@h/admin?tls=true', 'mongodb://u:p%40ss@h/db1?tls=true&authSource=admin'],
    ['mongodb://u:p@h/admin?authSource=other', 'mongodb://u:p@h/db1?authSource=other'],
    ['mongodb+srv://u:p@cluster.example.net/?retryWrites=true', 'mongodb+srv://u:p@cluster.example.net/db1?retryWrites=true'],
  ])('%s -> %s', (base, expected) => {
    expect(withDatabaseName(base, 'db1')).toBe(expected);
  });
});

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
    expect(failure?.name).toBeOneOf(CONNECTION_ERRORS);
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
