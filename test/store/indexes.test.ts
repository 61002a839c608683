// The declared indexes are built by every server start, and by a CLI command only when they differ from what
// was last recorded as built: on a busy database a command then sends one read instead of ~40 writes.
import { afterAll, expect, it } from 'vitest';
import { connectDatabase, type ConnectOptions } from '../../src/store/connection.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

const uri = testDatabaseUri();
afterAll(async () => {
  await dropTestDatabase(uri);
});

/** Connects as the given caller would and returns the commands it sent while connecting. */
async function connectCounting(ensureIndexes: ConnectOptions['ensureIndexes']) {
  const commands: string[] = [];
  const db = await connectDatabase(uri, { ensureIndexes, onCommand: (name) => commands.push(name) });
  return { db, commands };
}

it('a CLI command builds the indexes on a new database, then only checks that they were built', async () => {
  const first = await connectCounting('when-changed');
  try {
    expect(first.commands.filter((c) => c === 'createIndexes').length).toBeGreaterThan(10);
    // The unique index that keeps two accounts of a workspace from sharing a name is there.
    const accountIndexes = await first.db.models.accounts.collection.indexes();
    expect(accountIndexes.some((ix) => ix.unique === true)).toBe(true);
  } finally {
    await first.db.close();
  }

  const second = await connectCounting('when-changed');
  await second.db.close();
  expect(second.commands).toEqual(['find']);
});

it('a CLI command builds them again when the definitions changed since, and a server start always does', async () => {
  const setup = await connectDatabase(uri, { ensureIndexes: false });
  // As if the code declared other indexes than those last built.
  await setup.connection.collection('smtpdesk_meta').updateOne({ _id: 'indexes' as never }, { $set: { fingerprint: 'of an older release' } });
  await setup.close();

  const cli = await connectCounting('when-changed');
  await cli.db.close();
  expect(cli.commands).toContain('createIndexes');

  const again = await connectCounting('when-changed');
  await again.db.close();
  expect(again.commands).not.toContain('createIndexes');

  const server = await connectCounting(true);
  await server.db.close();
  expect(server.commands).toContain('createIndexes');
});
