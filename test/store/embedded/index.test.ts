// The database the test run shares (started by test/helpers/global-setup.ts through startEmbeddedDatabase):
// it answers, gives each test file its own database, and behaves as MongoDB for mongoose.
import mongoose, { Schema, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabase, testDatabaseUri, withDatabaseName } from '../../helpers/database.ts';

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
