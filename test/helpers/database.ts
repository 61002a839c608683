// Every test file works in its own database on the shared server, so files
// can run in parallel without seeing each other's documents.
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { inject } from 'vitest';

export const TEST_DATABASE_PREFIX = 'smtpdesk_t_';

/** A URI for a fresh, uniquely named database on the server the global setup started. */
export function testDatabaseUri(): string {
  return withDatabaseName(inject('mongoBaseUri'), `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`);
}

/**
 * Puts `dbName` in the URI's path, keeping hosts, credentials and options.
 * A path that named the auth database stays the auth database (authSource).
 * Hand-parsed because a URI with several hosts is not a valid WHATWG URL.
 */
export function withDatabaseName(uri: string, dbName: string): string {
  const schemeEnd = uri.indexOf('://');
  if (schemeEnd < 0) throw new Error(`not a MongoDB connection string: ${uri}`);
  const queryStart = uri.indexOf('?', schemeEnd + 3);
  const beforeQuery = queryStart < 0 ? uri : uri.slice(0, queryStart);
  const query = queryStart < 0 ? '' : uri.slice(queryStart + 1);
  const pathStart = beforeQuery.indexOf('/', schemeEnd + 3);
  const authority = pathStart < 0 ? beforeQuery : beforeQuery.slice(0, pathStart);
  const oldPath = pathStart < 0 ? '' : decodeURIComponent(beforeQuery.slice(pathStart + 1));

  const params = query.split('&').filter((p) => p !== '');
  const hasCredentials = authority.slice(schemeEnd + 3).includes('@');
  if (oldPath && hasCredentials && !params.some((p) => p.toLowerCase().startsWith('authsource='))) {
    params.push(`authSource=${encodeURIComponent(oldPath)}`);
  }
  return `${authority}/${encodeURIComponent(dbName)}${params.length ? `?${params.join('&')}` : ''}`;
}

/** Drops a database made by testDatabaseUri(); refuses any other name, in case MONGODB_URI points at real data. */
export async function dropTestDatabase(uri: string): Promise<void> {
  const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await connection.asPromise();
    const name = connection.name;
    if (!name.startsWith(TEST_DATABASE_PREFIX)) {
      throw new Error(`refusing to drop database "${name}": not a test database`);
    }
    await connection.dropDatabase();
  } finally {
    await connection.close();
  }
}
